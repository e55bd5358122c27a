// Named options of the transfer calls (GetOptions, PutOptions,
// PutfoOptions, TreeGetOptions, TreePutOptions), and the deprecated
// positional forms still doing what they did.
#include "fixture.hpp"

#include <sstream>
#include <type_traits>

using namespace fixture;

// Value types: copyable, reusable, aggregates (C++20 designated
// initializers; see test_cxx20.cpp).
static_assert(std::is_aggregate_v<psftp::GetOptions>);
static_assert(std::is_aggregate_v<psftp::PutOptions>);
static_assert(std::is_aggregate_v<psftp::PutfoOptions>);
static_assert(std::is_aggregate_v<psftp::TreeGetOptions>);
static_assert(std::is_aggregate_v<psftp::TreePutOptions>);
static_assert(std::is_aggregate_v<psftp::ConnectArgs>);
static_assert(std::is_copy_constructible_v<psftp::GetOptions>);

TEST(Options, DefaultsArePysftps) {
    const psftp::GetOptions get;
    EXPECT_FALSE(get.preserve_mtime);
    EXPECT_FALSE(get.progress);
    EXPECT_EQ(get.transfer, nullptr);
    const psftp::PutOptions put;
    EXPECT_TRUE(put.confirm);
    EXPECT_FALSE(put.preserve_mtime);
    const psftp::PutfoOptions putfo;
    EXPECT_TRUE(putfo.confirm);
    EXPECT_EQ(putfo.file_size, 0u);
    EXPECT_FALSE(psftp::TreeGetOptions().preserve_mtime);
    EXPECT_TRUE(psftp::TreePutOptions().confirm);
}

TEST(Options, OneOptionsValueServesManyCalls) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("optreuse");
    auto ldir = local_dir("optreuse");
    psftp::TransferOpts in_place;
    in_place.set_atomic(false);
    int calls = 0;
    psftp::PutOptions opts;
    opts.preserve_mtime = true;
    opts.transfer = &in_place;
    opts.progress = [&](std::uint64_t, std::uint64_t) { calls++; };
    for (int i = 0; i < 3; i++) {
        const fs::path local = ldir.path() / ("f" + std::to_string(i));
        write_file(local, std::string(100 + i, 'a'));
        set_times(local, 1'100'000'000 + i, 1'100'000'000 + i);
        const psftp::Attrs a = sftp.put(local, rdir / ("f" + std::to_string(i)), opts);
        EXPECT_EQ(a.size(), 100u + i);
        EXPECT_EQ(stat_of(rdir / ("f" + std::to_string(i))).st_mtime, 1'100'000'000 + i);
    }
    EXPECT_GE(calls, 3);
    // The in-place write keeps the inode; the default renames a new one in.
    const auto inode = stat_of(rdir / "f0").st_ino;
    sftp.put(ldir.path() / "f0", rdir / "f0", opts);
    EXPECT_EQ(stat_of(rdir / "f0").st_ino, inode);
    sftp.put(ldir.path() / "f0", rdir / "f0");
    EXPECT_NE(stat_of(rdir / "f0").st_ino, inode);
}

// The positional forms of psftp 0.1 are deprecated, not gone: this test
// calls them on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST(Options, DeprecatedPositionalFormsStillWork) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("optold");
    auto ldir = local_dir("optold");
    write_file(ldir.path() / "f", "old api");
    set_times(ldir.path() / "f", 1'200'000'000, 1'200'000'000);
    EXPECT_EQ(sftp.put(ldir.path() / "f", rdir / "f", nullptr, false, true).flags(), 0u);
    EXPECT_EQ(stat_of(rdir / "f").st_mtime, 1'200'000'000) << "preserve_mtime, positional";
    sftp.get(rdir / "f", ldir.path() / "back", nullptr, true);
    EXPECT_EQ(stat_of(ldir.path() / "back").st_mtime, 1'200'000'000);
    std::istringstream in("from a stream");
    EXPECT_EQ(sftp.putfo(in, rdir / "s", 13).size(), 13u);
    EXPECT_EQ(read_file(rdir / "s"), "from a stream");
    sftp.get_d(rdir.path().string(), ldir.path() / "d", true);
    EXPECT_EQ(stat_of(ldir.path() / "d/f").st_mtime, 1'200'000'000);
    sftp.put_r(ldir.path() / "d", rdir / "r", true, false);
    EXPECT_EQ(read_file(rdir / "r/s"), "from a stream");
}
#pragma GCC diagnostic pop
