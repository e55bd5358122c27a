// Built as C++20 (see CMakeLists.txt): the options are aggregates, so
// C++20 callers name them with designated initializers. Linked into the
// same program as the C++17 tests.
#include "fixture.hpp"

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
}
