// Per-call cancellation (issue 18): a psftp::CancelToken and
// Connection::with_cancel() stop one call, from another thread, and leave
// the connection and the other calls running.
#include "fixture.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace fixture;

namespace {
constexpr std::size_t MiB = 1 << 20;

/// A flag one thread sets and others wait for (bounded: a test fails
/// rather than hangs if it never comes).
class Latch {
public:
    void open() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    bool wait() {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, std::chrono::minutes(2), [&] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

/// What `f` threw, as a psftp error code (an empty one if it returned).
template <class F>
std::error_code code_of(F&& f) {
    try {
        f();
    } catch (const psftp::Error& e) {
        return e.code();
    }
    return {};
}

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}
} // namespace

static_assert(std::is_nothrow_move_constructible_v<psftp::CancelToken>);
static_assert(std::is_nothrow_move_assignable_v<psftp::CancelToken>);
static_assert(!std::is_copy_constructible_v<psftp::CancelToken>);
static_assert(!std::is_copy_assignable_v<psftp::CancelToken>);

TEST(Cancel, CancellingOneOfTwoThreadsGetsLeavesTheOtherByteExactAndTheConnectionUsable) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cancel-get");
    auto ldir = local_dir("cancel-get");
    const std::string a = pattern(32 * MiB, 1);
    const std::string b = pattern(32 * MiB, 2);
    put_remote_file(rdir / "a", a);
    put_remote_file(rdir / "b", b);
    write_file(ldir.path() / "a", "the old a");

    psftp::CancelToken token;
    Latch a_started, b_started, cancelled;
    std::error_code a_result;
    std::uint64_t a_done_at_cancel = 0;
    std::thread ta([&] {
        a_result = code_of([&] {
            psftp::GetOptions o;
            o.progress = [&](std::uint64_t done, std::uint64_t) {
                if (done > 0 && a_done_at_cancel == 0) {
                    a_done_at_cancel = done;
                    a_started.open();
                    cancelled.wait(); // a is held mid-transfer until cancelled
                }
            };
            sftp.with_cancel(token).get(rdir / "a", ldir.path() / "a", o);
        });
    });
    std::error_code b_result;
    std::thread tb([&] {
        b_result = code_of([&] {
            psftp::GetOptions o;
            o.progress = [&](std::uint64_t done, std::uint64_t) {
                if (done > 0)
                    b_started.open();
            };
            sftp.get(rdir / "b", ldir.path() / "b", o);
        });
    });
    // From this third thread, once both are moving: cancel a only.
    const bool both_moving = a_started.wait() && b_started.wait();
    token.cancel();
    cancelled.open();
    ta.join();
    tb.join();
    ASSERT_TRUE(both_moving);

    EXPECT_GT(a_done_at_cancel, 0u);
    EXPECT_LT(a_done_at_cancel, a.size());
    EXPECT_EQ(a_result, std::errc::operation_canceled);
    EXPECT_EQ(a_result, psftp::Errc::cancelled);
    EXPECT_FALSE(b_result) << b_result.message();
    EXPECT_EQ(read_file(ldir.path() / "b"), b);
    EXPECT_EQ(read_file(ldir.path() / "a"), "the old a") << "a keeps its old content";
    EXPECT_EQ(names_in(ldir.path()), (std::vector<std::string>{"a", "b"})) << "no part file";
    EXPECT_EQ(sftp.stat(rdir / "a").size(), a.size()) << "the connection still serves calls";

    // Calls through the token's Connections stay cancelled until reset().
    EXPECT_TRUE(token.is_cancelled());
    psftp::Connection view = sftp.with_cancel(token);
    std::error_code ec;
    view.stat(rdir / "a", ec);
    EXPECT_EQ(ec, std::errc::operation_canceled);
    EXPECT_THROW(view.listdir(rdir.path().string()), psftp::Cancelled);
    token.reset();
    EXPECT_FALSE(token.is_cancelled());
    EXPECT_EQ(view.stat(rdir / "b").size(), b.size());
    // Closing the view leaves the connection open.
    view.close();
    EXPECT_EQ(sftp.listdir(rdir.path().string()), (std::vector<std::string>{"a", "b"}));
}

TEST(Cancel, ACancelledPutKeepsTheOldRemoteFile) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cancel-put");
    auto ldir = local_dir("cancel-put");
    put_remote_file(rdir / "dest", "the old content");
    write_file(ldir.path() / "src", pattern(32 * MiB, 3));

    psftp::CancelToken token;
    Latch started, cancelled;
    std::error_code result;
    std::thread worker([&] {
        result = code_of([&] {
            psftp::PutOptions o;
            o.progress = [&](std::uint64_t done, std::uint64_t) {
                if (done > 0) {
                    started.open();
                    cancelled.wait();
                }
            };
            sftp.with_cancel(token).put(ldir.path() / "src", rdir / "dest", o);
        });
    });
    const bool moving = started.wait();
    token.cancel();
    cancelled.open();
    worker.join();
    ASSERT_TRUE(moving);

    EXPECT_EQ(result, std::errc::operation_canceled);
    EXPECT_EQ(read_file(rdir / "dest"), "the old content");
    // The cancelled put's cleanup (CLOSE, REMOVE of the part file) is sent
    // without waiting for its replies; the server runs it before any later
    // request of the connection, so once this listing is back it is done.
    EXPECT_EQ(sftp.listdir(rdir.path().string()), std::vector<std::string>{"dest"});
    EXPECT_EQ(names_in(rdir.path()), std::vector<std::string>{"dest"}) << "no remote part file";
}

TEST(Cancel, AMovedTokenStillCancelsItsConnections) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cancel-move");
    psftp::CancelToken first;
    psftp::Connection view = sftp.with_cancel(first);
    psftp::CancelToken moved(std::move(first));
    EXPECT_EQ(first.handle(), nullptr);
    psftp::CancelToken assigned;
    assigned = std::move(moved);
    assigned.cancel();
    EXPECT_THROW(view.stat(rdir.path().string()), psftp::Cancelled);
    // A Connection made with a token outlives it.
    {
        psftp::CancelToken short_lived;
        view = sftp.with_cancel(short_lived);
    }
    EXPECT_TRUE(view.isdir(rdir.path().string()));
    // A moved-from token is refused with a clear error, not a crash.
    EXPECT_THROW(moved.cancel(), psftp::InvalidArgument);
    EXPECT_THROW(static_cast<void>(sftp.with_cancel(moved)), psftp::InvalidArgument);
}
