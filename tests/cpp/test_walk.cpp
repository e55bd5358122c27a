// walktree (remote and local), the module helpers and local_cd.
#include "fixture.hpp"

using namespace fixture;

namespace {

/// root/a/{x, b/{y}}, root/e (empty dir), root/top, root/link -> top,
/// root/dangling -> nowhere.
void make_tree(const fs::path& root, bool remote) {
    fs::create_directories(root / "a/b");
    fs::create_directory(root / "e");
    write_file(root / "a/x", "x");
    write_file(root / "a/b/y", "y");
    write_file(root / "top", "top");
    fs::create_symlink("top", root / "link");
    fs::create_symlink("nowhere", root / "dangling");
    if (remote)
        for (const auto& p : {root / "a", root / "a/b", root / "e", root / "a/x", root / "a/b/y",
                              root / "top"})
            chown_to_test_user(p);
}

/// Records "f PATH", "d PATH", "u PATH"; skips directories named in `skip`.
struct Events {
    std::vector<std::string> seen;
    std::string skip;
    psftp::WalkFn tag(const char* kind) {
        return [this, kind](const std::string& path, const psftp::Attrs&) {
            seen.push_back(std::string(kind) + " " + path);
            return path == skip ? psftp::Walk::Skip : psftp::Walk::Continue;
        };
    }
};

std::vector<std::string> expected(const std::string& r) {
    return {"d " + r + "/a", "d " + r + "/a/b", "f " + r + "/a/b/y", "f " + r + "/a/x",
            "u " + r + "/dangling", "d " + r + "/e", "f " + r + "/link", "f " + r + "/top"};
}

} // namespace

TEST(Walk, RemoteWalkIsDepthFirstSortedAndCanSkip) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("walk");
    make_tree(dir.path(), true);
    const std::string root = dir.path().string();
    Events all;
    sftp.walktree(root, all.tag("f"), all.tag("d"), all.tag("u"));
    EXPECT_EQ(all.seen, expected(root));

    Events skipping;
    skipping.skip = root + "/a";
    sftp.walktree(root, skipping.tag("f"), skipping.tag("d"), nullptr);
    EXPECT_EQ(skipping.seen, (std::vector<std::string>{"d " + root + "/a", "d " + root + "/e",
                                                       "f " + root + "/link",
                                                       "f " + root + "/top"}));
    Events top;
    sftp.walktree(root, top.tag("f"), top.tag("d"), top.tag("u"), false);
    EXPECT_EQ(top.seen.size(), 5u) << "only the top level without recurse";
    // The same by name.
    Events named;
    psftp::WalkOptions o;
    o.file = named.tag("f");
    o.dir = named.tag("d");
    o.unknown = named.tag("u");
    o.recurse = false;
    sftp.walktree(root, o);
    EXPECT_EQ(named.seen, top.seen);
    Events named_all;
    o = {};
    o.file = named_all.tag("f");
    o.dir = named_all.tag("d");
    o.unknown = named_all.tag("u");
    sftp.walktree(root, o);
    EXPECT_EQ(named_all.seen, expected(root)) << "recurse by default";
    EXPECT_THROW_MSG(sftp.walktree("/no/such", nullptr, nullptr, nullptr), psftp::NotFound,
                     "/no/such");
}

TEST(Walk, AnExceptionInADirectoryCallbackStopsRatherThanSkips) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("walkstop");
    make_tree(dir.path(), true);
    const std::string root = dir.path().string();
    Events seen;
    auto stop_at_a = [&](const std::string& path, const psftp::Attrs&) -> psftp::Walk {
        seen.seen.push_back("d " + path);
        throw std::runtime_error("stop at " + path);
    };
    EXPECT_THROW_MSG(sftp.walktree(root, seen.tag("f"), stop_at_a, seen.tag("u")),
                     std::runtime_error, "stop at " + root + "/a");
    EXPECT_EQ(seen.seen, std::vector<std::string>{"d " + root + "/a"})
        << "nothing after the exception (a skip would go on with dangling, e, ...)";
}

TEST(Walk, CallbacksMayUseTheConnection) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("walkuse");
    make_tree(dir.path(), true);
    std::uint64_t total = 0;
    auto add_size = [&](const std::string& path, const psftp::Attrs&) {
        total += sftp.stat(path).size();
        return psftp::Walk::Continue;
    };
    sftp.walktree(dir.path().string(), add_size, nullptr, nullptr);
    EXPECT_EQ(total, 1u + 1u + 3u + 3u) << "y, x, link (to top), top";
}

TEST(Walk, LocalWalkMatchesTheRemoteOne) {
    auto dir = local_dir("lwalk");
    make_tree(dir.path(), false);
    Events all;
    psftp::local_walktree(dir.path(), all.tag("f"), all.tag("d"), all.tag("u"));
    EXPECT_EQ(all.seen, expected(dir.path().string()));
    EXPECT_THROW_MSG(psftp::local_walktree("/no/such/dir", nullptr, nullptr, nullptr),
                     psftp::LocalIoError, "/no/such/dir");
}

TEST(Helpers, ModuleFunctionsGivePysftpResults) {
    EXPECT_EQ(psftp::st_mode_to_int(33188), 644u);
    EXPECT_EQ(psftp::path_advance("./pub/example/example01"),
              (std::vector<std::string>{".", "./pub", "./pub/example", "./pub/example/example01"}));
    EXPECT_EQ(psftp::path_retreat("./pub/example/example01"),
              (std::vector<std::string>{"./pub/example/example01", "./pub/example", "./pub", "."}));
    EXPECT_EQ(psftp::reparent("backup", "/home/test/pub"), "backup/./home/test/pub");
    EXPECT_THROW_MSG(psftp::path_advance(""), psftp::InvalidArgument, "thepath");
    const std::string header_version = std::to_string(PSFTP_VERSION_MAJOR) + "." +
                                       std::to_string(PSFTP_VERSION_MINOR) + "." +
                                       std::to_string(PSFTP_VERSION_PATCH);
    EXPECT_EQ(psftp::version(), header_version);
}

TEST(Helpers, LocalCdGuardRestoresTheProcessDirectory) {
    const fs::path before = fs::current_path();
    auto dir = local_dir("lcd");
    const fs::path target = fs::canonical(dir.path());
    {
        auto in_dir = psftp::local_cd(target);
        EXPECT_EQ(fs::current_path(), target);
    }
    EXPECT_EQ(fs::current_path(), before);
    {
        auto bookmark = psftp::local_cd();
        fs::current_path(target);
    }
    EXPECT_EQ(fs::current_path(), before);
    EXPECT_THROW_MSG(auto g = psftp::local_cd("/no/such/dir"), psftp::LocalIoError, "/no/such/dir");
    EXPECT_EQ(fs::current_path(), before);
}
