// Connection::interrupt() from another thread. The calls interrupted here
// run over a relay that freezes, so they cannot finish on their own: the
// outcome never depends on when the interrupt arrives.
#include "fixture.hpp"
#include "relay.hpp"

#include <chrono>
#include <future>
#include <thread>

using namespace fixture;

namespace {

using Clock = std::chrono::steady_clock;

/// Options for connecting through a relay (its port is in no known_hosts).
/// The operation timeout only bounds a failing test: a frozen call that the
/// interrupt did not reach ends with Timeout instead of Cancelled.
psftp::CnOpts relay_opts() {
    psftp::CnOpts opts;
    opts.set_hostkeys(std::nullopt).set_timeout(60);
    return opts;
}

psftp::Connection connect_via(const Relay& relay, const psftp::CnOpts& opts) {
    psftp::ConnectArgs args = password_login(opts);
    args.port = relay.port();
    return psftp::Connection("127.0.0.1", args);
}

bool has_part_files(const fs::path& root) {
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.path().filename().string().find(".psftp.part") != std::string::npos)
            return true;
    return false;
}

} // namespace

TEST(Interrupt, AbortsACallBlockedOnAFrozenLink) {
    Relay relay(port());
    const psftp::CnOpts opts = relay_opts();
    psftp::Connection sftp = connect_via(relay, opts);
    auto rdir = remote_dir("intfrozen");
    for (unsigned i = 0; i < 4; i++)
        put_remote_file(rdir / ("f" + std::to_string(i)), pattern(100'000, i));
    auto ldir = local_dir("intfrozen");
    relay.freeze(); // from now on the call can only end by the interrupt
    const auto start = Clock::now();
    std::thread interrupter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        sftp.interrupt();
    });
    EXPECT_THROW_MSG(sftp.get_r(rdir.path().string(), ldir.path()), psftp::Cancelled,
                     "interrupted");
    interrupter.join();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(30)) << "promptly, not by the timeout";
    // The connection is unusable afterwards.
    EXPECT_THROW_MSG(sftp.listdir(rdir.path().string()), psftp::Cancelled, "interrupted");
    EXPECT_THROW(sftp.pwd(), psftp::Cancelled);
    sftp.interrupt(); // again: harmless
    sftp.close();
    sftp.interrupt(); // on a closed connection: nothing
}

TEST(Interrupt, StopsAParallelGetRMidTransfer) {
    Relay relay(port());
    const psftp::CnOpts opts = relay_opts();
    psftp::Connection sftp = connect_via(relay, opts);
    auto rdir = remote_dir("intrun");
    for (unsigned i = 0; i < 12; i++)
        put_remote_file(rdir / ("f" + std::to_string(i)), pattern((3 << 19) + i, i)); // 1.5 MiB
    auto ldir = local_dir("intrun");
    // 4 MiB from the server, then nothing: get_r (18 MiB) is mid-transfer
    // and cannot finish on its own.
    relay.freeze_after(4 << 20);
    std::future<void> interrupter = std::async(std::launch::async, [&] {
        if (!relay.wait_frozen(std::chrono::seconds(60)))
            return; // the test fails below: get_r would not throw Cancelled
        sftp.interrupt();
    });
    std::uint64_t bytes_seen = 0;
    auto progress = [&](const psftp::TreeProgress& p) { bytes_seen = p.bytes_done; };
    psftp::TransferOpts three;
    three.set_parallelism(3);
    const auto start = Clock::now();
    auto options = with_transfer<psftp::TreeGetOptions>(three);
    options.progress = progress;
    EXPECT_THROW_MSG(sftp.get_r(rdir.path().string(), ldir.path(), options), psftp::Cancelled,
                     "interrupt");
    interrupter.get();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(30)) << "promptly, not by the timeout";
    EXPECT_LT(bytes_seen, std::uint64_t{18} << 20);
    EXPECT_FALSE(has_part_files(ldir.path())) << "partial downloads removed";
    EXPECT_THROW(sftp.listdir(), psftp::Cancelled);
}

TEST(Interrupt, AnIdleConnectionRefusesLaterCalls) {
    psftp::Connection sftp = connect();
    std::thread([&] { sftp.interrupt(); }).join();
    EXPECT_THROW_MSG(sftp.pwd(), psftp::Cancelled, "interrupted");
    EXPECT_EQ(sftp.last_error_code(), PSFTP_E_CANCELLED);
    EXPECT_EQ(connect().pwd(), home()) << "a new connection works";
    psftp::Connection moved_from = connect();
    psftp::Connection moved = std::move(moved_from);
    moved_from.interrupt(); // no handle: nothing
    EXPECT_EQ(moved.pwd(), home());
}
