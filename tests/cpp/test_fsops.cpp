// Listing, attributes, directories and changes to the remote tree, checked
// on the server's disk.
#include "fixture.hpp"

#include <sys/statvfs.h>

using namespace fixture;

TEST(FsOps, ListdirAndListdirAttrAreSorted) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("list");
    put_remote_file(dir / "b.txt", "bbb");
    put_remote_file(dir / "a.txt", "a");
    sftp.mkdir(dir / "c", fs::perms::owner_all);
    EXPECT_EQ(sftp.listdir(dir.path().string()),
              (std::vector<std::string>{"a.txt", "b.txt", "c"}));
    std::vector<psftp::DirEntry> entries = sftp.listdir_attr(dir.path().string());
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].filename, "a.txt");
    EXPECT_EQ(entries[1].attrs.size(), 3u);
    EXPECT_NE(entries[1].longname.find("b.txt"), std::string::npos) << entries[1].longname;
    EXPECT_EQ(entries[2].filename, "c");
    EXPECT_EQ(psftp::st_mode_to_int(entries[2].attrs.mode()), 700u);
    EXPECT_TRUE(S_ISDIR(entries[2].attrs.mode()));
    sftp.chdir(dir / "c");
    EXPECT_TRUE(sftp.listdir().empty()) << "the default is the working directory";
    EXPECT_TRUE(sftp.listdir_attr().empty());
    EXPECT_THROW_MSG(sftp.listdir(dir / "a.txt"), psftp::NotADirectory, "a.txt");
}

TEST(FsOps, StatLstatAndTheTests) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("stat");
    put_remote_file(dir / "f", "12345");
    sftp.symlink(dir / "f", dir / "link");
    sftp.symlink(dir / "gone", dir / "broken");
    psftp::Attrs st = sftp.stat(dir / "link");
    EXPECT_TRUE(S_ISREG(st.mode()));
    EXPECT_EQ(st.size(), 5u);
    EXPECT_EQ(st.uid(), stat_of(dir / "f").st_uid);
    EXPECT_TRUE(st.flags() & PSFTP_ATTR_ACMODTIME);
    EXPECT_EQ(st.raw().mtime, stat_of(dir / "f").st_mtime);
    EXPECT_TRUE(S_ISLNK(sftp.lstat(dir / "link").mode()));
    EXPECT_TRUE(sftp.exists(dir / "f"));
    EXPECT_FALSE(sftp.exists(dir / "broken"));
    EXPECT_TRUE(sftp.lexists(dir / "broken"));
    EXPECT_FALSE(sftp.lexists(dir / "nothing"));
    EXPECT_TRUE(sftp.isfile(dir / "link"));
    EXPECT_FALSE(sftp.isdir(dir / "f"));
    EXPECT_TRUE(sftp.isdir(dir.path().string()));
    EXPECT_FALSE(sftp.isfile(dir.path().string()));
}

TEST(FsOps, WorkingDirectoryFollowsPysftp) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("cwd");
    sftp.mkdir(dir / "sub");
    EXPECT_EQ(sftp.getcwd(), std::nullopt) << "None until the first chdir";
    sftp.chdir(dir.path().string());
    EXPECT_EQ(sftp.getcwd(), dir.path().string());
    sftp.cwd("sub");
    EXPECT_EQ(sftp.pwd(), dir / "sub");
    EXPECT_EQ(sftp.normalize(".."), dir.path().string());
    sftp.chdir(std::nullopt);
    EXPECT_EQ(sftp.pwd(), home());
    EXPECT_THROW_MSG(sftp.chdir("no-such-dir"), psftp::NotFound, "no-such-dir");
}

TEST(FsOps, CdGuardRestoresTheDirectoryEvenOnExceptions) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("cdguard");
    sftp.mkdir(dir / "sub");
    sftp.chdir(dir.path().string());
    {
        auto in_sub = sftp.cd("sub");
        EXPECT_EQ(sftp.pwd(), dir / "sub");
    }
    EXPECT_EQ(sftp.pwd(), dir.path().string());
    try {
        auto in_sub = sftp.cd("sub");
        throw std::runtime_error("body failed");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(sftp.pwd(), dir.path().string());
    {
        auto bookmark = sftp.cd();
        sftp.chdir("sub");
        auto moved = std::move(bookmark); // restores once, when `moved` ends
    }
    EXPECT_EQ(sftp.pwd(), dir.path().string());
    EXPECT_THROW_MSG(auto g = sftp.cd("missing"), psftp::NotFound, "missing");
    EXPECT_EQ(sftp.pwd(), dir.path().string()) << "nothing pushed";
    EXPECT_THROW_MSG(psftp::check(psftp_cd_pop(sftp.handle())), psftp::InvalidArgument,
                     "without a matching");
}

/// Modes are std::filesystem::perms: the server's file (local, the server
/// is local) gets exactly those bits.
TEST(FsOps, MkdirMakedirsChmodChownUsePosixModes) {
    using fs::perms;
    psftp::Connection sftp = connect();
    auto dir = remote_dir("modes");
    sftp.mkdir(dir / "d", perms::owner_all);
    EXPECT_EQ(stat_of(dir / "d").st_mode & 07777, 0700u);
    sftp.makedirs(dir / "x/y/z", perms::owner_all | perms::group_read | perms::group_exec);
    EXPECT_TRUE(fs::is_directory(dir / "x/y/z"));
    EXPECT_EQ(stat_of(dir / "x/y").st_mode & 07777, 0750u);
    sftp.makedirs(dir / "x/y/z");
    put_remote_file(dir / "f", "f");
    sftp.chmod(dir / "f", perms::owner_read | perms::owner_write | perms::group_read |
                              perms::others_read);
    EXPECT_EQ(stat_of(dir / "f").st_mode, static_cast<mode_t>(S_IFREG | 0644));
    sftp.chmod(dir / "f", static_cast<perms>(0640));
    EXPECT_EQ(stat_of(dir / "f").st_mode & 07777, 0640u);
    sftp.chmod(dir / "f", static_cast<perms>(0755) | perms::set_uid);
    EXPECT_EQ(stat_of(dir / "f").st_mode & 07777, 04755u);
    EXPECT_THROW_MSG(sftp.chmod(dir / "f", perms::unknown), psftp::InvalidArgument, "07777");
    EXPECT_EQ(stat_of(dir / "f").st_mode & 07777, 04755u);
    const auto owner = stat_of(dir / "f").st_uid;
    sftp.chown(dir / "f");
    sftp.chown(dir / "f", owner, std::nullopt);
    EXPECT_EQ(stat_of(dir / "f").st_uid, owner);
    EXPECT_THROW_MSG(sftp.chown(dir / "f", 0u), psftp::PermissionDenied, "/f");
    EXPECT_THROW_MSG(sftp.makedirs(dir / "f/sub"), psftp::AlreadyExists, "f");
}

TEST(FsOps, RemoveUnlinkRmdirRenameAndLinks) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("change");
    for (const char* name : {"a", "b", "c", "d"})
        put_remote_file(dir / name, name);
    sftp.remove(dir / "a");
    sftp.unlink(dir / "b");
    EXPECT_FALSE(fs::exists(dir / "a") || fs::exists(dir / "b"));
    EXPECT_THROW_MSG(sftp.remove(dir / "a"), psftp::NotFound, "/a");
    sftp.mkdir(dir / "empty");
    sftp.rmdir(dir / "empty");
    EXPECT_FALSE(fs::exists(dir / "empty"));
    EXPECT_THROW(sftp.rename(dir / "c", dir / "d"), psftp::AlreadyExists);
    sftp.rename(dir / "c", dir / "e");
    EXPECT_EQ(read_file(dir / "e"), "c");
    sftp.posix_rename(dir / "e", dir / "d");
    EXPECT_EQ(read_file(dir / "d"), "c");
    EXPECT_FALSE(fs::exists(dir / "e"));
    sftp.hardlink(dir / "d", dir / "hard");
    EXPECT_EQ(stat_of(dir / "hard").st_ino, stat_of(dir / "d").st_ino);
    sftp.symlink("d", dir / "soft");
    EXPECT_EQ(fs::read_symlink(dir / "soft"), "d");
    EXPECT_EQ(sftp.readlink(dir / "soft"), dir / "d") << "absolute, from the link's directory";
    EXPECT_THROW_MSG(sftp.symlink("x", dir / "soft"), psftp::AlreadyExists, "soft");
    // the server's realpath, as pysftp: OpenSSH resolves a missing last
    // component and refuses a missing directory on the way
    EXPECT_EQ(sftp.normalize(dir / "no-such"), dir / "no-such");
    EXPECT_THROW_MSG(sftp.normalize(dir / "no-dir/x"), psftp::NotFound, "no-dir");
}

TEST(FsOps, TruncateUtimeStatvfs) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("misc");
    put_remote_file(dir / "f", "0123456789");
    EXPECT_EQ(sftp.truncate(dir / "f", 4), 4u);
    EXPECT_EQ(read_file(dir / "f"), "0123");
    sftp.utime(dir / "f", 1'000'000'500, 1'000'000'000);
    EXPECT_EQ(stat_of(dir / "f").st_mtime, 1'000'000'000);
    EXPECT_EQ(stat_of(dir / "f").st_atime, 1'000'000'500);
    EXPECT_THROW_MSG(sftp.utime(dir / "f", -5, 0), psftp::InvalidArgument, "atime");
    psftp::StatVfs vfs = sftp.statvfs(dir.path().string());
    struct statvfs local {};
    ASSERT_EQ(::statvfs(dir.path().c_str(), &local), 0);
    EXPECT_EQ(vfs.bsize, local.f_bsize);
    EXPECT_EQ(vfs.blocks, local.f_blocks);
}
