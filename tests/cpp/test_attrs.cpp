// psftp::Attrs: file types, std::filesystem::perms, std::chrono times,
// ids and the raw C struct, from every call that returns attributes.
#include "fixture.hpp"

#include <map>

using namespace fixture;

namespace {
using Clock = std::chrono::system_clock;

psftp_attrs raw_with_mode(std::uint32_t mode) {
    psftp_attrs raw{};
    raw.struct_size = sizeof raw;
    raw.flags = PSFTP_ATTR_PERMISSIONS;
    raw.mode = mode;
    return raw;
}
} // namespace

TEST(Attrs, StatGivesTypePermsTimesAndIdsOfTheFileOnDisk) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("attrs");
    put_remote_file(dir / "f", "12345");
    fs::permissions(dir / "f", fs::perms(0640));
    set_times(dir / "f", 1'300'000'100, 1'300'000'000);
    const struct stat disk = stat_of(dir / "f");

    const psftp::Attrs a = sftp.stat(dir / "f");
    EXPECT_TRUE(a.is_regular());
    EXPECT_FALSE(a.is_dir());
    EXPECT_FALSE(a.is_symlink());
    EXPECT_EQ(a.type(), fs::file_type::regular);
    EXPECT_EQ(a.size(), 5u);
    EXPECT_EQ(a.permissions(), fs::perms::owner_read | fs::perms::owner_write |
                                   fs::perms::group_read);
    EXPECT_EQ(a.mode(), disk.st_mode);
    EXPECT_EQ(a.uid(), disk.st_uid);
    EXPECT_EQ(a.gid(), disk.st_gid);
    EXPECT_EQ(a.mtime(), Clock::from_time_t(1'300'000'000));
    EXPECT_EQ(a.atime(), Clock::from_time_t(1'300'000'100));
    EXPECT_TRUE(a.has_size() && a.has_ids() && a.has_permissions() && a.has_times());
    // The raw C struct stays reachable.
    EXPECT_EQ(a.raw().mtime, 1'300'000'000);
    EXPECT_EQ(a.raw().size, 5u);
    EXPECT_EQ(a.flags(), a.raw().flags);
    // A file_status, as std::filesystem's predicates take it.
    EXPECT_TRUE(fs::is_regular_file(a.status()));
    EXPECT_EQ(a.status().permissions(), a.permissions());
}

TEST(Attrs, DirectoriesSymlinksAndSpecialBits) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("attrtypes");
    put_remote_file(dir / "f", "x");
    sftp.mkdir(dir / "d", fs::perms::owner_all);
    sftp.symlink(dir / "f", dir / "link");
    sftp.chmod(dir / "f", fs::perms::owner_all | fs::perms::set_gid | fs::perms::sticky_bit);

    EXPECT_TRUE(sftp.stat(dir / "d").is_dir());
    EXPECT_TRUE(fs::is_directory(sftp.stat(dir / "d").status()));
    EXPECT_EQ(sftp.stat(dir / "d").permissions(), fs::perms::owner_all);
    EXPECT_TRUE(sftp.lstat(dir / "link").is_symlink());
    EXPECT_TRUE(sftp.stat(dir / "link").is_regular()) << "stat follows the link";
    EXPECT_EQ(sftp.stat(dir / "f").permissions(),
              fs::perms::owner_all | fs::perms::set_gid | fs::perms::sticky_bit);
    EXPECT_EQ(stat_of(dir / "f").st_mode & 07777, 03700u);

    // listdir_attr and walktree hand out the same type.
    std::map<std::string, fs::file_type> listed;
    for (const psftp::DirEntry& e : sftp.listdir_attr(dir.path().string()))
        listed[e.filename] = e.attrs.type();
    EXPECT_EQ(listed, (std::map<std::string, fs::file_type>{{"d", fs::file_type::directory},
                                                           {"f", fs::file_type::regular},
                                                           {"link", fs::file_type::symlink}}));
    std::map<std::string, bool> walked_dirs;
    auto note = [&](const std::string& path, const psftp::Attrs& attrs) {
        walked_dirs[fs::path(path).filename().string()] = attrs.is_dir();
        return psftp::Walk::Continue;
    };
    sftp.walktree(dir.path().string(), note, note, note);
    EXPECT_TRUE(walked_dirs.at("d"));
    EXPECT_FALSE(walked_dirs.at("f"));
}

TEST(Attrs, EveryFileTypeOfTheModeBits) {
    const std::pair<std::uint32_t, fs::file_type> types[] = {
        {0040755, fs::file_type::directory}, {0100644, fs::file_type::regular},
        {0120777, fs::file_type::symlink},   {0060660, fs::file_type::block},
        {0020620, fs::file_type::character}, {0010644, fs::file_type::fifo},
        {0140755, fs::file_type::socket},    {0000644, fs::file_type::unknown}};
    for (const auto& [mode, type] : types) {
        const psftp::Attrs a(raw_with_mode(mode));
        EXPECT_EQ(a.type(), type) << std::oct << mode;
        EXPECT_EQ(a.permissions(), fs::perms(mode & 07777)) << std::oct << mode;
        EXPECT_EQ(a.mode(), mode);
    }
    EXPECT_EQ(psftp::Attrs(raw_with_mode(0104755)).permissions(),
              fs::perms::set_uid | fs::perms(0755));
}

TEST(Attrs, FieldsTheServerLeftOutReadAsUnknown) {
    const psftp::Attrs none;
    EXPECT_EQ(none.flags(), 0u);
    EXPECT_FALSE(none.has_size() || none.has_ids() || none.has_permissions() || none.has_times());
    EXPECT_EQ(none.type(), fs::file_type::unknown);
    EXPECT_EQ(none.permissions(), fs::perms::unknown);
    EXPECT_EQ(none.size(), 0u);
    EXPECT_EQ(none.mtime(), Clock::from_time_t(0));
    EXPECT_FALSE(none.is_dir() || none.is_regular() || none.is_symlink());
    // Garbage in a field without its flag is not shown.
    psftp_attrs raw{};
    raw.struct_size = sizeof raw;
    raw.flags = PSFTP_ATTR_SIZE;
    raw.size = 7;
    raw.mode = 0040755;
    raw.uid = 42;
    raw.mtime = 99;
    const psftp::Attrs only_size(raw);
    EXPECT_EQ(only_size.size(), 7u);
    EXPECT_EQ(only_size.type(), fs::file_type::unknown);
    EXPECT_EQ(only_size.uid(), 0u);
    EXPECT_EQ(only_size.mtime(), Clock::from_time_t(0));
    EXPECT_EQ(only_size.raw().uid, 42u);
}

TEST(Attrs, PutConfirmationFileStatAndUtimeWithTimePoints) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("attrput");
    auto ldir = local_dir("attrput");
    write_file(ldir.path() / "f", std::string(1000, 'a'));
    const psftp::Attrs confirmed = sftp.put(ldir.path() / "f", rdir / "f");
    EXPECT_TRUE(confirmed.is_regular());
    EXPECT_EQ(confirmed.size(), 1000u);
    psftp::PutOptions unconfirmed;
    unconfirmed.confirm = false;
    const psftp::Attrs none = sftp.put(ldir.path() / "f", rdir / "g", unconfirmed);
    EXPECT_FALSE(none.has_size());
    EXPECT_EQ(none.type(), fs::file_type::unknown);

    const auto mtime = Clock::from_time_t(1'450'000'000);
    const auto atime = Clock::from_time_t(1'450'000'500);
    sftp.utime(rdir / "f", atime, mtime);
    EXPECT_EQ(stat_of(rdir / "f").st_mtime, 1'450'000'000);
    EXPECT_EQ(stat_of(rdir / "f").st_atime, 1'450'000'500);
    psftp::File f = sftp.open(rdir / "f");
    EXPECT_EQ(f.stat().mtime(), mtime);
    EXPECT_EQ(f.stat().size(), 1000u);
}
