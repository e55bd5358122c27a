// CnOpts::set_hostkey_callback and set_accept_new against the test sshd:
// unknown and changed keys, the three answers, exceptions, moves.
#include "fixture.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>

using namespace fixture;

namespace {

struct Refused : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// What the callback was asked.
struct Question {
    std::string host;
    int port;
    psftp::HostKey key;
    psftp::HostKeyStatus status;
};

/// A callback that records its questions and gives `answer`.
struct Asked {
    std::vector<Question> calls;
    psftp::HostKeyAnswer answer = psftp::HostKeyAnswer::Reject;
    psftp::HostKeyFn fn() {
        return [this](const std::string& host, int p, const psftp::HostKey& key,
                      psftp::HostKeyStatus status) {
            calls.push_back(Question{host, p, key, status});
            return answer;
        };
    }
};

std::size_t lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// The server's ed25519 key as known_hosts has it.
std::string server_fingerprint() {
    return psftp::CnOpts(file("known_hosts")).get_hostkey(host_name()).fingerprint;
}

} // namespace

TEST(HostKeyCallback, DecidesAboutAnUnknownHost) {
    auto dir = local_dir("hkcb");
    const auto kh = dir.path() / "known_hosts";
    write_file(kh, "");
    psftp::CnOpts opts(kh);
    Asked asked;
    opts.set_hostkey_callback(asked.fn());

    asked.answer = psftp::HostKeyAnswer::Reject;
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", password_login(opts)), psftp::HostKeyUnknown,
                     "callback rejected");
    ASSERT_EQ(asked.calls.size(), 1u);
    const Question q = asked.calls[0]; // a copy: later calls grow the vector
    EXPECT_EQ(q.host, "127.0.0.1");
    EXPECT_EQ(q.port, port());
    EXPECT_EQ(q.status, psftp::HostKeyStatus::Unknown);
    EXPECT_EQ(q.key.key_type, "ssh-ed25519");
    EXPECT_EQ(q.key.fingerprint, server_fingerprint());
    EXPECT_NE(read_file(file("ssh_host_ed25519_key.pub")).find(q.key.base64), std::string::npos);

    asked.answer = psftp::HostKeyAnswer::Accept;
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).pwd(), home());
    EXPECT_EQ(read_file(kh), "") << "accepted once, not saved";
    EXPECT_EQ(asked.calls.size(), 2u);

    asked.answer = psftp::HostKeyAnswer::AcceptAndSave;
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).pwd(), home());
    const std::string saved = read_file(kh);
    EXPECT_EQ(lines(saved), 1u) << saved;
    EXPECT_EQ(saved.rfind(host_name() + " ssh-ed25519 " + q.key.base64, 0), 0u) << saved;

    asked.answer = psftp::HostKeyAnswer::Reject;
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).pwd(), home())
        << "the saved key is known now";
    EXPECT_EQ(asked.calls.size(), 3u) << "a known key never reaches the callback";
    EXPECT_EQ(read_file(kh), saved);
}

TEST(HostKeyCallback, DecidesAboutAChangedKeyAndTreeOperationsAskOnce) {
    auto dir = local_dir("hkchanged");
    const auto kh = dir.path() / "known_hosts";
    fs::copy_file(file("known_hosts_changed"), kh);
    const std::string before = read_file(kh);
    psftp::CnOpts opts(kh);
    Asked asked;
    opts.set_hostkey_callback(asked.fn());
    asked.answer = psftp::HostKeyAnswer::Reject;
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", password_login(opts)),
                     psftp::HostKeyMismatch, "MISMATCH");
    ASSERT_EQ(asked.calls.size(), 1u);
    EXPECT_EQ(asked.calls[0].status, psftp::HostKeyStatus::Changed);
    EXPECT_EQ(asked.calls[0].key.fingerprint, server_fingerprint());

    asked.answer = psftp::HostKeyAnswer::AcceptAndSave;
    psftp::Connection sftp("127.0.0.1", password_login(opts));
    EXPECT_EQ(read_file(kh), before) << "a changed key is accepted, never saved";
    ASSERT_EQ(asked.calls.size(), 2u);

    // The extra connections of a tree operation trust the accepted key
    // without asking again (they run on worker threads).
    auto rdir = remote_dir("hkcbtree");
    for (int i = 0; i < 12; i++)
        put_remote_file(rdir / ("f" + std::to_string(i)), "x");
    auto ldir = local_dir("hkcbtree");
    psftp::TransferOpts four;
    four.set_parallelism(4);
    sftp.get_d(rdir.path().string(), ldir.path(), with_transfer<psftp::TreeGetOptions>(four));
    EXPECT_EQ(asked.calls.size(), 2u) << "asked once, by the first connection";
    EXPECT_EQ(std::distance(fs::directory_iterator(ldir.path()), {}), 12);
}

TEST(HostKeyCallback, AnExceptionRejectsTheKeyAndComesOutOfTheConstructor) {
    auto dir = local_dir("hkthrow");
    const auto kh = dir.path() / "known_hosts";
    write_file(kh, "");
    psftp::CnOpts opts(kh);
    int calls = 0;
    opts.set_hostkey_callback([&](const std::string& host, int, const psftp::HostKey& key,
                                  psftp::HostKeyStatus) -> psftp::HostKeyAnswer {
        calls++;
        throw Refused("not trusting " + host + " " + key.fingerprint);
    });
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", password_login(opts)), Refused,
                     "not trusting 127.0.0.1 SHA256:");
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(read_file(kh), "") << "nothing saved";
    // The exception was for that connect only: the next one starts clean.
    opts.set_hostkey_callback([](const std::string&, int, const psftp::HostKey&,
                                 psftp::HostKeyStatus) { return psftp::HostKeyAnswer::Accept; });
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).pwd(), home());

    // Connects on two threads with the same options keep their exceptions
    // apart: each thread gets the one its own callback threw.
    opts.set_hostkey_callback([](const std::string&, int, const psftp::HostKey&,
                                 psftp::HostKeyStatus) -> psftp::HostKeyAnswer {
        throw Refused("thread " +
                      std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())));
    });
    std::vector<std::thread> threads;
    std::vector<std::string> messages(4);
    for (std::size_t i = 0; i < messages.size(); i++)
        threads.emplace_back([&, i] {
            try {
                psftp::Connection("127.0.0.1", password_login(opts));
            } catch (const Refused& e) {
                messages[i] = std::string(e.what()) + " caught by " +
                              std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
            }
        });
    for (auto& t : threads)
        t.join();
    for (const std::string& m : messages) {
        const auto by = m.find(" caught by ");
        ASSERT_NE(by, std::string::npos) << m;
        EXPECT_EQ(m.substr(std::string("thread ").size(), by - std::string("thread ").size()),
                  m.substr(by + std::string(" caught by ").size()));
    }
}

TEST(HostKeyCallback, SurvivesAMoveAndCanBeReplacedOrRemoved) {
    auto dir = local_dir("hkmove");
    const auto kh = dir.path() / "known_hosts";
    write_file(kh, "");
    Asked asked;
    asked.answer = psftp::HostKeyAnswer::Accept;
    psftp::CnOpts moved = [&] {
        psftp::CnOpts opts(kh);
        opts.set_hostkey_callback(asked.fn());
        return opts;
    }();
    psftp::CnOpts opts = std::move(moved);
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).pwd(), home());
    EXPECT_EQ(asked.calls.size(), 1u);

    Asked other;
    other.answer = psftp::HostKeyAnswer::Reject;
    opts.set_hostkey_callback(other.fn());
    EXPECT_THROW(psftp::Connection("127.0.0.1", password_login(opts)), psftp::HostKeyUnknown);
    EXPECT_EQ(asked.calls.size(), 1u) << "replaced";
    EXPECT_EQ(other.calls.size(), 1u);

    opts.set_hostkey_callback(nullptr);
    EXPECT_THROW_MSG(psftp::Connection("127.0.0.1", password_login(opts)), psftp::HostKeyUnknown,
                     "ssh-ed25519");
    EXPECT_EQ(other.calls.size(), 1u) << "removed";
    EXPECT_THROW_MSG(moved.set_hostkey_callback(asked.fn()), psftp::InvalidArgument, "opts");
}

/// psftp keeps the callback (and what it captured) while the options or a
/// connection made with them lives, and destroys it once after the last.
TEST(HostKeyCallback, LivesAsLongAsTheOptionsOrAConnectionNeedIt) {
    auto dir = local_dir("hklife");
    const auto kh = dir.path() / "known_hosts";
    write_file(kh, "");
    auto captured = std::make_shared<int>(42);
    std::weak_ptr<int> watch = captured;
    std::optional<psftp::Connection> conn;
    {
        psftp::CnOpts opts(kh);
        opts.set_hostkey_callback([captured](const std::string&, int, const psftp::HostKey&,
                                             psftp::HostKeyStatus) {
            return *captured == 42 ? psftp::HostKeyAnswer::Accept : psftp::HostKeyAnswer::Reject;
        });
        captured.reset();
        conn.emplace("127.0.0.1", password_login(opts));
    }
    EXPECT_FALSE(watch.expired()) << "the connection still holds the callback";
    EXPECT_EQ(conn->pwd(), home());
    conn.reset();
    EXPECT_TRUE(watch.expired()) << "destroyed after the last holder";
}

TEST(HostKeyCallback, DecidesInsteadOfAcceptNew) {
    auto dir = local_dir("hktofu");
    const auto kh = dir.path() / "known_hosts";
    write_file(kh, "");
    psftp::CnOpts opts(kh);
    Asked asked;
    opts.set_accept_new(true).set_hostkey_callback(asked.fn());
    EXPECT_THROW(psftp::Connection("127.0.0.1", password_login(opts)), psftp::HostKeyUnknown);
    EXPECT_EQ(asked.calls.size(), 1u);
    EXPECT_EQ(read_file(kh), "");
    opts.set_hostkey_callback(nullptr);
    EXPECT_EQ(psftp::Connection("127.0.0.1", password_login(opts)).pwd(), home());
    EXPECT_EQ(lines(read_file(kh)), 1u) << "accept-new again without the callback";
}

TEST(CnOpts, AcceptNewNeverAcceptsAChangedKey) {
    auto dir = local_dir("tofuchanged");
    const auto kh = dir.path() / "known_hosts";
    fs::copy_file(file("known_hosts_changed"), kh);
    const std::string before = read_file(kh);
    psftp::CnOpts opts(kh);
    opts.set_accept_new(true);
    EXPECT_THROW(psftp::Connection("127.0.0.1", password_login(opts)), psftp::HostKeyMismatch);
    EXPECT_EQ(read_file(kh), before);
    opts.set_accept_new(false);
    auto empty = dir.path() / "empty";
    write_file(empty, "");
    psftp::CnOpts off(empty);
    off.set_accept_new(true).set_accept_new(false);
    EXPECT_THROW(psftp::Connection("127.0.0.1", password_login(off)), psftp::HostKeyUnknown);
    EXPECT_EQ(read_file(empty), "");
}
