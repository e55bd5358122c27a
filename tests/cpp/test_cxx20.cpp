// Built as C++20 (see CMakeLists.txt): the options are aggregates, so
// C++20 callers name them with designated initializers. Linked into the
// same program as the C++17 tests.
#include "fixture.hpp"

#include <atomic>
#include <stop_token>
#include <thread>

#if __cplusplus < 202002L
#error "test_cxx20.cpp must be built as C++20"
#endif

using namespace fixture;

TEST(Cxx20, DesignatedInitializersNameEveryOption) {
    psftp::CnOpts opts(env("PSFTP_TEST_KNOWN_HOSTS"));
    psftp::Connection sftp("127.0.0.1", {.username = user(),
                                         .password = env("PSFTP_TEST_PASSWORD"),
                                         .port = port(),
                                         .cnopts = &opts});
    auto rdir = remote_dir("cxx20");
    auto ldir = local_dir("cxx20");
    write_file(ldir.path() / "f", "designated");
    set_times(ldir.path() / "f", 1'250'000'000, 1'250'000'000);

    std::uint64_t last = 0;
    const psftp::Attrs a =
        sftp.put(ldir.path() / "f", rdir / "f",
                 {.progress = [&](std::uint64_t done, std::uint64_t) { last = done; },
                  .preserve_mtime = true});
    EXPECT_EQ(a.size(), 10u);
    EXPECT_EQ(last, 10u);
    EXPECT_EQ(a.mtime(), std::chrono::system_clock::from_time_t(1'250'000'000));

    psftp::TransferOpts in_place;
    in_place.set_atomic(false);
    sftp.get(rdir / "f", ldir.path() / "back", {.preserve_mtime = true, .transfer = &in_place});
    EXPECT_EQ(read_file(ldir.path() / "back"), "designated");
    EXPECT_EQ(stat_of(ldir.path() / "back").st_mtime, 1'250'000'000);

    EXPECT_EQ(sftp.put(ldir.path() / "f", rdir / "g", {.confirm = false}).flags(), 0u);
    sftp.get_r(rdir.path().string(), ldir.path() / "tree", {.preserve_mtime = true});
    sftp.mkdir(rdir / "up");
    sftp.put_d(ldir.path(), rdir / "up", {.confirm = false});
    EXPECT_EQ(read_file(rdir / "up/back"), "designated");

    std::vector<std::string> files;
    sftp.walktree(rdir.path().string(),
                  {.file = [&](const std::string& p, const psftp::Attrs&) {
                       files.push_back(p);
                       return psftp::Walk::Continue;
                   },
                   .recurse = false});
    EXPECT_EQ(files, (std::vector<std::string>{rdir / "f", rdir / "g"}));
}

// A CancelToken made from a std::stop_token: a std::jthread's request_stop()
// cancels the call that thread makes, and nothing else.
TEST(Cxx20, AStopRequestCancelsTheCallOfThatThread) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cxx20-stop");
    auto ldir = local_dir("cxx20-stop");
    const std::string data = pattern(16 << 20, 7);
    put_remote_file(rdir / "big", data);
    std::atomic<bool> started = false;
    std::error_code result;
    {
        std::jthread worker([&](std::stop_token stop) {
            psftp::CancelToken token(stop);
            try {
                sftp.with_cancel(token).get(
                    rdir / "big", ldir.path() / "big",
                    {.progress = [&](std::uint64_t done, std::uint64_t) {
                        if (done == 0 || started.exchange(true))
                            return;
                        started.notify_all();
                        // Held here until the stop request (bounded: 2 minutes).
                        for (int i = 0; i < 120'000 && !stop.stop_requested(); i++)
                            std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    }});
            } catch (const psftp::Error& e) {
                result = e.code();
            }
            started = true; // never leaves the waiting thread hanging
            started.notify_all();
        });
        started.wait(false);
        worker.request_stop();
    } // joined
    EXPECT_EQ(result, std::errc::operation_canceled);
    EXPECT_FALSE(fs::exists(ldir.path() / "big"));
    EXPECT_TRUE(fs::is_empty(ldir.path())) << "no part file";
    sftp.get(rdir / "big", ldir.path() / "again");
    EXPECT_EQ(read_file(ldir.path() / "again"), data);

    // A stop requested already: the token starts cancelled.
    std::stop_source source;
    source.request_stop();
    psftp::CancelToken stopped(source.get_token());
    EXPECT_TRUE(stopped.is_cancelled());
    EXPECT_THROW(sftp.with_cancel(stopped).listdir(rdir.path().string()), psftp::Cancelled);
}
