// get_d, get_r, put_d, put_r and their TransferOpts against the test sshd:
// byte-exact trees, parallelism, sync, filters, symlink, mode and error
// policies, progress, exceptions from the progress callback, cancellation.
#include "fixture.hpp"
#include "relay.hpp"

#include <algorithm>
#include <map>
#include <set>

using namespace fixture;

namespace {

struct Stop : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A name in NFC with non-ASCII letters in two scripts (UTF-8 source).
const std::string unicode_name = "ünïcödé/ファイル.txt";

/// Size and FNV-1a hash of some bytes: short in assertion messages.
std::string digest(const std::string& data) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : data)
        h = (h ^ c) * 0x100000001b3ull;
    return std::to_string(data.size()) + ":" + std::to_string(h);
}

/// Everything under `root`: relative path -> "f SIZE:HASH", "d" or
/// "l TARGET".
std::map<std::string, std::string> snapshot(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it) {
        const std::string rel = it->path().lexically_relative(root).string();
        if (it->is_symlink())
            out[rel] = "l " + fs::read_symlink(it->path()).string();
        else if (it->is_directory())
            out[rel] = "d";
        else
            out[rel] = "f " + digest(read_file(it->path()));
    }
    return out;
}

/// The relative paths of a snapshot, with their kind: "f a/x", "d a".
std::vector<std::string> kinds(const std::map<std::string, std::string>& snap) {
    std::vector<std::string> v;
    for (const auto& [path, what] : snap)
        v.push_back(what.substr(0, 1) + " " + path);
    return v;
}

bool has_part_files(const fs::path& root) {
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.path().filename().string().find(".psftp.part") != std::string::npos)
            return true;
    return false;
}

void chown_tree(const fs::path& root) {
    chown_to_test_user(root);
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (!e.is_symlink())
            chown_to_test_user(e.path());
}

/// Nesting, an empty directory, unicode names, an empty file, files of
/// several MiB and 40 small ones (47 files).
void make_tree(const fs::path& root, bool remote) {
    const std::vector<std::pair<std::string, std::size_t>> files = {
        {"top.txt", 100},
        {"empty.bin", 0},
        {"big.bin", (3 << 20) + 11},
        {"a/one.txt", 4096},
        {"a/b/two.txt", 10},
        {"a/b/c/deep.bin", (1 << 20) + 1},
        {unicode_name, 33},
        {"many/f00", 1},
    };
    fs::create_directories(root / "empty_dir");
    unsigned seed = 0;
    for (const auto& [name, size] : files) {
        fs::create_directories((root / name).parent_path());
        write_file(root / name, pattern(size, seed++));
    }
    for (int i = 1; i < 40; i++) {
        const std::string name = (i < 10 ? "many/f0" : "many/f") + std::to_string(i);
        write_file(root / name, pattern(4096, static_cast<unsigned>(i)));
    }
    if (remote)
        chown_tree(root);
}

/// Where get_r(remotedir, localdir) lands for an absolute remotedir:
/// localdir/./remotedir, as pysftp's reparent() has it.
fs::path landed(const fs::path& localdir, const fs::path& remotedir) {
    return localdir / "." / remotedir.relative_path();
}

/// Records every progress call.
struct Recorder {
    std::vector<psftp::TreeProgress> calls;
    psftp::TreeProgressFn fn() {
        return [this](const psftp::TreeProgress& p) { calls.push_back(p); };
    }
};

psftp::TransferOpts continue_on_error() {
    psftp::TransferOpts opts;
    opts.set_on_error(psftp::OnError::Continue);
    return opts;
}

} // namespace

TEST(Tree, GetRCopiesTheTreeByteForByteWherePysftpPutsIt) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("getr");
    const fs::path pub = rdir.path() / "public";
    make_tree(pub, true);
    set_times(pub / "a/one.txt", 1'500'000'100, 1'500'000'000);
    auto ldir = local_dir("getr");
    sftp.chdir(rdir.path().string());
    // pysftp: get_r('public', 'backup') lands in backup/public.
    psftp::TreeGetOptions keep_mtime;
    keep_mtime.preserve_mtime = true;
    sftp.get_r("public", ldir.path() / "backup", keep_mtime);
    EXPECT_EQ(snapshot(ldir.path() / "backup/public"), snapshot(pub));
    EXPECT_EQ(stat_of(ldir.path() / "backup/public/a/one.txt").st_mtime, 1'500'000'000);
    EXPECT_TRUE(fs::is_directory(ldir.path() / "backup/public/empty_dir"));
    // An absolute remotedir is reparented: abs/./home/.../public/a.
    sftp.get_r((pub / "a").string(), ldir.path() / "abs");
    EXPECT_EQ(snapshot(landed(ldir.path() / "abs", pub / "a")), snapshot(pub / "a"));
    EXPECT_NE(stat_of(landed(ldir.path() / "abs", pub / "a") / "one.txt").st_mtime,
              1'500'000'000)
        << "mtime kept only with preserve_mtime";
}

TEST(Tree, PutRCopiesTheContentsAndAcceptsExistingDirectories) {
    psftp::Connection sftp = connect();
    auto ldir = local_dir("putr");
    make_tree(ldir.path(), false);
    set_times(ldir.path() / "a/b/two.txt", 1'400'000'100, 1'400'000'000);
    auto rdir = remote_dir("putr");
    const std::string dest = rdir / "static";
    psftp::TreePutOptions keep_mtime;
    keep_mtime.preserve_mtime = true;
    for (int i = 0; i < 2; i++)
        sftp.put_r(ldir.path(), dest, keep_mtime);
    EXPECT_EQ(snapshot(dest), snapshot(ldir.path()));
    EXPECT_EQ(stat_of(fs::path(dest) / "a/b/two.txt").st_mtime, 1'400'000'000);
    EXPECT_FALSE(has_part_files(dest));
}

TEST(Tree, GetDAndPutDCopyOnlyTheFilesDirectlyInside) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("getd");
    make_tree(rdir.path(), true);
    auto ldir = local_dir("getd");
    const fs::path images = ldir.path() / "images"; // created by get_d
    sftp.get_d(rdir.path().string(), images);
    EXPECT_EQ(kinds(snapshot(images)),
              (std::vector<std::string>{"f big.bin", "f empty.bin", "f top.txt"}));
    EXPECT_EQ(read_file(images / "big.bin"), read_file(rdir / "big.bin"));
    auto dest = remote_dir("putd");
    sftp.put_d(images, dest.path().string());
    EXPECT_EQ(snapshot(dest.path()), snapshot(images));
    sftp.put_d(ldir.path(), dest.path().string()) ; // only directories inside: nothing to copy
    EXPECT_EQ(snapshot(dest.path()), snapshot(images));
}

TEST(Tree, ParallelismOpensThatManyConnectionsAndGivesTheSameTree) {
    Relay relay(port());
    psftp::CnOpts opts;
    opts.set_hostkeys(std::nullopt); // the relay's port is in no known_hosts
    psftp::ConnectArgs args = password_login(opts);
    args.port = relay.port();
    psftp::Connection sftp("127.0.0.1", args);
    ASSERT_EQ(relay.connections(), 1);
    auto ldir = local_dir("par");
    make_tree(ldir.path(), false);
    const auto source = snapshot(ldir.path());
    auto rdir = remote_dir("par");
    int connections = relay.connections();
    for (int n : {1, 3}) {
        psftp::TransferOpts parallel;
        parallel.set_parallelism(n);
        const std::string dest = rdir / ("p" + std::to_string(n));
        sftp.put_r(ldir.path(), dest, with_transfer<psftp::TreePutOptions>(parallel));
        EXPECT_EQ(relay.connections() - connections, n - 1) << "put_r with " << n;
        EXPECT_EQ(snapshot(dest), source) << "put_r with " << n;
        connections = relay.connections();
        auto back = local_dir("parback");
        sftp.get_r(dest, back.path(), with_transfer<psftp::TreeGetOptions>(parallel));
        EXPECT_EQ(relay.connections() - connections, n - 1) << "get_r with " << n;
        EXPECT_EQ(snapshot(landed(back.path(), dest)), source) << "get_r with " << n;
        connections = relay.connections();
    }
    psftp::TransferOpts opts_for_errors;
    for (int n : {0, -1, 65})
        EXPECT_THROW_MSG(opts_for_errors.set_parallelism(n), psftp::InvalidArgument,
                         "connections");
}

TEST(Tree, SyncSkipsUnchangedFilesAndCopiesChangedOnes) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("sync");
    make_tree(rdir.path(), true);
    auto ldir = local_dir("sync");
    psftp::TransferOpts sync;
    sync.set_sync(true);
    sftp.get_r(rdir.path().string(), ldir.path(), with_transfer<psftp::TreeGetOptions>(sync));
    const fs::path got = landed(ldir.path(), rdir.path());
    EXPECT_EQ(snapshot(got), snapshot(rdir.path()));
    auto inode = [](const fs::path& p) { return stat_of(p).st_ino; };
    const auto top = inode(got / "top.txt"), big = inode(got / "big.bin"),
               f05 = inode(got / "many/f05");
    write_file(rdir / "many/f05", "changed"); // new size and mtime
    Recorder progress;
    auto sync_progress = with_transfer<psftp::TreeGetOptions>(sync);
    sync_progress.progress = progress.fn();
    sftp.get_r(rdir.path().string(), ldir.path(), sync_progress);
    EXPECT_EQ(read_file(got / "many/f05"), "changed");
    EXPECT_NE(inode(got / "many/f05"), f05) << "changed: copied";
    EXPECT_EQ(inode(got / "top.txt"), top) << "unchanged: skipped";
    EXPECT_EQ(inode(got / "big.bin"), big) << "unchanged: skipped";
    ASSERT_FALSE(progress.calls.empty());
    EXPECT_EQ(progress.calls.back().files_done, 47u) << "skipped files count as done";
    EXPECT_EQ(progress.calls.back().files_total, 47u);
    std::uintmax_t tree_bytes = 0;
    for (const auto& e : fs::recursive_directory_iterator(rdir.path()))
        if (e.is_regular_file()) tree_bytes += e.file_size();
    EXPECT_EQ(progress.calls.back().bytes_total, tree_bytes) << "skipped bytes count too";
    EXPECT_EQ(progress.calls.back().bytes_done, tree_bytes) << "skipped bytes count as done";

    // Upload direction: a second put_r sends nothing.
    auto dest = remote_dir("syncput");
    sftp.put_r(got, dest.path().string(), with_transfer<psftp::TreePutOptions>(sync));
    const auto remote_one = inode(dest.path() / "a/one.txt");
    sftp.put_r(got, dest.path().string(), with_transfer<psftp::TreePutOptions>(sync));
    EXPECT_EQ(inode(dest.path() / "a/one.txt"), remote_one) << "remote file not replaced";
    EXPECT_EQ(snapshot(dest.path()), snapshot(got));
}

TEST(Tree, IncludeAndExcludeFilters) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("filter");
    make_tree(rdir.path(), true);
    auto ldir = local_dir("filter");
    psftp::TransferOpts filters;
    filters.add_include("*.txt").add_include("many/f0?").add_exclude("a/b");
    sftp.get_r(rdir.path().string(), ldir.path(), with_transfer<psftp::TreeGetOptions>(filters));
    std::vector<std::string> files;
    for (const auto& [path, what] : snapshot(landed(ldir.path(), rdir.path())))
        if (what[0] == 'f')
            files.push_back(path);
    std::vector<std::string> want = {
        "a/one.txt", "top.txt",
        unicode_name};
    for (int i = 0; i < 10; i++)
        want.push_back("many/f0" + std::to_string(i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(files, want);
    EXPECT_FALSE(fs::exists(landed(ldir.path(), rdir.path()) / "a/b"))
        << "excluded directory not created";
    EXPECT_THROW_MSG(filters.add_include("["), psftp::InvalidArgument, "'['");
    EXPECT_THROW_MSG(filters.add_exclude(std::string("a\0b", 3)), psftp::InvalidArgument,
                     "pattern");
}

namespace {
/// root/d/sub/file, root/f, to_file -> f, to_dir -> d, d/up_loop -> ..,
/// outside -> /etc, dangling -> nowhere.
void make_links(const fs::path& root) {
    fs::create_directories(root / "d/sub");
    write_file(root / "d/sub/file", "inside");
    write_file(root / "f", "f");
    fs::create_symlink("f", root / "to_file");
    fs::create_symlink("d", root / "to_dir");
    fs::create_symlink("..", root / "d/up_loop");
    fs::create_symlink("/etc", root / "outside");
    fs::create_symlink("nowhere", root / "dangling");
}
} // namespace

TEST(Tree, SymlinkPoliciesSkipFollowOrCopyAndNeverLoop) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("links");
    make_links(rdir.path());
    chown_tree(rdir.path());
    std::vector<std::unique_ptr<ScratchDir>> keep;
    auto fetch = [&](psftp::Symlinks policy) {
        keep.push_back(std::make_unique<ScratchDir>(fs::temp_directory_path(), "links", false));
        psftp::TransferOpts opts;
        opts.set_symlinks(policy);
        sftp.get_r(rdir.path().string(), keep.back()->path(), with_transfer<psftp::TreeGetOptions>(opts));
        return landed(keep.back()->path(), rdir.path());
    };
    EXPECT_EQ(kinds(snapshot(fetch(psftp::Symlinks::Skip))),
              (std::vector<std::string>{"d d", "d d/sub", "f d/sub/file", "f f"}));
    const fs::path followed = fetch(psftp::Symlinks::Follow);
    const std::vector<std::string> followed_kinds = {
        "d d",      "d d/sub",      "f d/sub/file",      "f f",
        "d to_dir", "d to_dir/sub", "f to_dir/sub/file", "f to_file"};
    EXPECT_EQ(kinds(snapshot(followed)), followed_kinds);
    EXPECT_EQ(read_file(followed / "to_dir/sub/file"), "inside");
    // Copy recreates the links that stay inside the tree (safe links);
    // CopyAll every link, verbatim.
    const fs::path copied = fetch(psftp::Symlinks::Copy);
    EXPECT_FALSE(fs::is_symlink(fs::symlink_status(copied / "outside")));
    EXPECT_EQ(fs::read_symlink(copied / "d/up_loop"), "..");
    EXPECT_EQ(fs::read_symlink(copied / "dangling"), "nowhere");
    EXPECT_EQ(snapshot(copied).size(), 8u);
    const fs::path all = fetch(psftp::Symlinks::CopyAll);
    EXPECT_EQ(fs::read_symlink(all / "outside"), "/etc");
    EXPECT_EQ(snapshot(all).size(), 9u);

    // Uploads follow the same rules.
    auto ldir = local_dir("linksup");
    make_links(ldir.path());
    auto up_follow = remote_dir("linksup");
    psftp::TransferOpts follow;
    follow.set_symlinks(psftp::Symlinks::Follow);
    sftp.put_r(ldir.path(), up_follow.path().string(), with_transfer<psftp::TreePutOptions>(follow));
    EXPECT_EQ(kinds(snapshot(up_follow.path())), followed_kinds);
    auto up_copy = remote_dir("linksup2");
    psftp::TransferOpts copy;
    copy.set_symlinks(psftp::Symlinks::Copy);
    sftp.put_r(ldir.path(), up_copy.path().string(), with_transfer<psftp::TreePutOptions>(copy));
    EXPECT_EQ(fs::read_symlink(up_copy.path() / "to_dir"), "d");
    auto up_all = remote_dir("linksup3");
    psftp::TransferOpts copy_all;
    copy_all.set_symlinks(psftp::Symlinks::CopyAll);
    sftp.put_r(ldir.path(), up_all.path().string(), with_transfer<psftp::TreePutOptions>(copy_all));
    EXPECT_EQ(snapshot(up_all.path()), snapshot(ldir.path()));

    EXPECT_THROW_MSG(copy.set_symlinks(static_cast<psftp::Symlinks>(7)), psftp::InvalidArgument,
                     "policy");
    EXPECT_THROW_MSG(copy.set_on_error(static_cast<psftp::OnError>(7)), psftp::InvalidArgument,
                     "policy");
}

TEST(Tree, PreserveModeCopiesPermissionBitsBothWays) {
    psftp::Connection sftp = connect();
    auto ldir = local_dir("mode");
    fs::create_directory(ldir.path() / "d");
    write_file(ldir.path() / "d/script", "#!/bin/sh\n");
    write_file(ldir.path() / "secret", "s");
    fs::permissions(ldir.path() / "d/script", fs::perms(0750));
    fs::permissions(ldir.path() / "secret", fs::perms(0600));
    fs::permissions(ldir.path() / "d", fs::perms(0711));
    auto mode = [](const fs::path& p) { return stat_of(p).st_mode & 0777; };
    psftp::TransferOpts modes;
    modes.set_preserve_mode(true);
    auto rdir = remote_dir("mode");
    sftp.put_r(ldir.path(), rdir.path().string(), with_transfer<psftp::TreePutOptions>(modes));
    EXPECT_EQ(mode(rdir.path() / "d/script"), 0750u);
    EXPECT_EQ(mode(rdir.path() / "secret"), 0600u);
    EXPECT_EQ(mode(rdir.path() / "d"), 0711u);
    auto back = local_dir("modeback");
    sftp.get_r(rdir.path().string(), back.path(), with_transfer<psftp::TreeGetOptions>(modes));
    const fs::path got = landed(back.path(), rdir.path());
    EXPECT_EQ(mode(got / "d/script"), 0750u);
    EXPECT_EQ(mode(got / "secret"), 0600u);
    EXPECT_EQ(mode(got / "d"), 0711u);
    auto plain = local_dir("modeplain");
    sftp.get_r(rdir.path().string(), plain.path());
    EXPECT_EQ(mode(landed(plain.path(), rdir.path()) / "secret"), 0644u)
        << "without the option modes follow the umask, as in pysftp";
}

TEST(Tree, FailedEntriesComeWithTheErrorAndContinueCopiesTheRest) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("errs");
    make_tree(rdir.path(), true);
    // Two files the server's user (the fixture's account) cannot read.
    for (const char* f : {"a/one.txt", "many/f07"}) {
        ASSERT_EQ(::chown((rdir.path() / f).c_str(), 0, 0), 0);
        fs::permissions(rdir.path() / f, fs::perms(0600));
    }
    auto ldir = local_dir("errs");
    const fs::path got = landed(ldir.path(), rdir.path());

    psftp::TransferOpts stop;
    stop.set_parallelism(1);
    try {
        sftp.get_r(rdir.path().string(), ldir.path(), with_transfer<psftp::TreeGetOptions>(stop));
        ADD_FAILURE() << "get_r did not throw";
    } catch (const psftp::PermissionDenied& e) {
        EXPECT_NE(std::string(e.what()).find("Permission denied"), std::string::npos) << e.what();
        ASSERT_EQ(e.failures().size(), 1u) << "the stop policy reports the first";
        EXPECT_EQ(e.failures()[0].errc(), psftp::Errc::permission);
    }

    psftp::TransferOpts cont = continue_on_error();
    try {
        sftp.get_r(rdir.path().string(), ldir.path(), with_transfer<psftp::TreeGetOptions>(cont));
        ADD_FAILURE() << "get_r did not throw";
    } catch (const psftp::Error& e) { // any psftp::Error reaches the list
        EXPECT_EQ(e.errc(), psftp::Errc::permission) << "the first failure's code";
        EXPECT_NE(std::string(e.what()).find("2 entries failed"), std::string::npos) << e.what();
        std::set<std::string> paths;
        for (const psftp::TreeFailure& f : e.failures()) {
            paths.insert(f.path);
            EXPECT_EQ(f.code, PSFTP_E_PERMISSION) << f.path;
            EXPECT_NE(f.message.find("Permission denied"), std::string::npos) << f.message;
        }
        EXPECT_EQ(paths, (std::set<std::string>{"a/one.txt", "many/f07"}));
        // An exception object is copied freely; the list goes with it.
        const psftp::Error copy = e;
        EXPECT_EQ(copy.failures().size(), 2u);
    }
    EXPECT_EQ(read_file(got / "many/f08"), read_file(rdir / "many/f08")) << "the rest was copied";
    EXPECT_EQ(read_file(got / "big.bin"), read_file(rdir / "big.bin"));
    EXPECT_FALSE(fs::exists(got / "a/one.txt"));
    EXPECT_FALSE(has_part_files(got));

    // Uploads: a local file the transfer cannot read (root reads anything,
    // so a directory stands in the way of the remote file instead).
    auto src = local_dir("errsput");
    write_file(src.path() / "ok1", "1");
    write_file(src.path() / "blocked", "b");
    write_file(src.path() / "ok2", "2");
    auto dest = remote_dir("errsput");
    fs::create_directory(dest.path() / "blocked");
    write_file(dest.path() / "blocked/x", "x"); // a non-empty directory: rename fails
    chown_tree(dest.path());
    try {
        sftp.put_d(src.path(), dest.path().string(), with_transfer<psftp::TreePutOptions>(cont));
        ADD_FAILURE() << "put_d did not throw";
    } catch (const psftp::Error& e) {
        ASSERT_EQ(e.failures().size(), 1u) << e.what();
        EXPECT_EQ(e.failures()[0].path, "blocked");
        EXPECT_EQ(e.failures()[0].code, e.code().value());
    }
    EXPECT_EQ(read_file(dest / "ok1"), "1");
    EXPECT_EQ(read_file(dest / "ok2"), "2");
    EXPECT_FALSE(has_part_files(dest.path()));
}

TEST(Tree, ProgressCountsFilesAndBytesToTheTotals) {
    psftp::Connection sftp = connect();
    auto ldir = local_dir("prog");
    make_tree(ldir.path(), false);
    std::uint64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(ldir.path()))
        if (e.is_regular_file())
            total += e.file_size();
    auto rdir = remote_dir("prog");
    Recorder progress;
    psftp::TreePutOptions up;
    up.progress = progress.fn();
    sftp.put_r(ldir.path(), rdir.path().string(), up);
    ASSERT_FALSE(progress.calls.empty());
    const psftp::TreeProgress& last = progress.calls.back();
    EXPECT_EQ(last.files_done, 47u);
    EXPECT_EQ(last.files_total, 47u);
    EXPECT_EQ(last.bytes_done, total);
    EXPECT_EQ(last.bytes_total, total);
    bool monotonic = true, saw_big = false;
    for (std::size_t i = 0; i < progress.calls.size(); i++) {
        const auto& c = progress.calls[i];
        saw_big = saw_big || c.current_path == "big.bin";
        if (i > 0)
            monotonic = monotonic && c.files_done >= progress.calls[i - 1].files_done &&
                        c.bytes_done >= progress.calls[i - 1].bytes_done;
    }
    EXPECT_TRUE(monotonic);
    EXPECT_TRUE(saw_big) << "current_path names files relative to the root";

    Recorder down;
    auto back = local_dir("progback");
    psftp::TreeGetOptions down_opts;
    down_opts.progress = down.fn();
    sftp.get_d(rdir.path().string(), back.path(), down_opts);
    ASSERT_FALSE(down.calls.empty());
    EXPECT_EQ(down.calls.back().files_done, 3u) << "get_d: top.txt, empty.bin, big.bin";
    EXPECT_EQ(down.calls.back().bytes_done, 100u + (3u << 20) + 11u);
}

TEST(Tree, AnExceptionFromTheProgressCallbackStopsTheCallAndComesOut) {
    psftp::Connection sftp = connect();
    auto ldir = local_dir("cbtree");
    make_tree(ldir.path(), false);
    auto rdir = remote_dir("cbtree");
    psftp::TransferOpts two;
    two.set_parallelism(2);
    int calls = 0;
    auto throw_at_second = [&](const psftp::TreeProgress&) {
        if (++calls == 2)
            throw Stop("enough");
    };
    auto stopping = with_transfer<psftp::TreePutOptions>(two);
    stopping.progress = throw_at_second;
    EXPECT_THROW_MSG(sftp.put_r(ldir.path(), rdir.path().string(), stopping), Stop, "enough");
    EXPECT_EQ(calls, 2) << "no callback after the exception";
    // A stopped call's cleanup (CLOSE, REMOVE of its part file) goes out
    // without waiting for replies; the server runs it before the
    // connection's next request.
    EXPECT_EQ(sftp.listdir(rdir.path().string()).empty(), false) << "the connection still works";
    EXPECT_FALSE(has_part_files(rdir.path()));
    // Every file that arrived is whole.
    const auto local = snapshot(ldir.path());
    for (const auto& [path, what] : snapshot(rdir.path())) {
        if (what[0] == 'f') {
            EXPECT_EQ(what, local.at(path)) << path;
        }
    }
}

TEST(Tree, CancellingFromTheCallbackLeavesOldFilesAndNoPartFiles) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cancel");
    for (unsigned i = 0; i < 6; i++) // 1.5 MiB each: streamed one by one
        put_remote_file(rdir / ("large" + std::to_string(i)), pattern(3 << 19, i));
    auto ldir = local_dir("cancel");
    const fs::path got = landed(ldir.path(), rdir.path());
    fs::create_directories(got);
    write_file(got / "large5", "the good old content");
    // Cancelling is throwing; psftp::Cancelled reads best to a caller.
    auto cancel = [](const psftp::TreeProgress& p) {
        if (p.bytes_done > 0)
            throw psftp::Cancelled("user cancelled at " + std::to_string(p.bytes_done));
    };
    psftp::TransferOpts one;
    one.set_parallelism(1);
    auto cancelling = with_transfer<psftp::TreeGetOptions>(one);
    cancelling.progress = cancel;
    EXPECT_THROW_MSG(sftp.get_r(rdir.path().string(), ldir.path(), cancelling),
                     psftp::Cancelled, "user cancelled");
    EXPECT_FALSE(has_part_files(got));
    // Each file is whole, or still the old one (large5, if its turn had not
    // come).
    for (const auto& [path, what] : snapshot(got)) {
        if (path != "large5" || read_file(got / path) != "the good old content") {
            EXPECT_EQ(what, "f " + digest(read_file(rdir / path))) << path << " is whole";
        }
    }
    sftp.get_r(rdir.path().string(), ldir.path(), with_transfer<psftp::TreeGetOptions>(one));
    EXPECT_EQ(snapshot(got), snapshot(rdir.path())) << "the connection still works";
}

TEST(Tree, BadRootsAndArguments) {
    psftp::Connection sftp = connect();
    auto ldir = local_dir("badroot");
    try {
        sftp.get_r("/no/such/dir", ldir.path());
        ADD_FAILURE() << "get_r did not throw";
    } catch (const psftp::NotFound& e) {
        EXPECT_NE(std::string(e.what()).find("/no/such/dir"), std::string::npos) << e.what();
        EXPECT_TRUE(e.failures().empty()) << "a failure of the whole operation";
    }
    auto rdir = remote_dir("badroot");
    put_remote_file(rdir / "file", "x");
    EXPECT_THROW_MSG(sftp.get_d(rdir / "file", ldir.path()), psftp::NotADirectory,
                     "not a directory");
    EXPECT_THROW_MSG(sftp.put_r("/no/such/local", rdir.path().string()), psftp::LocalIoError,
                     "/no/such/local");
    EXPECT_THROW_MSG(sftp.put_d(ldir.path(), std::string("a\0b", 3)), psftp::InvalidArgument,
                     "remotepath");
    EXPECT_THROW_MSG(sftp.get_r(rdir.path().string(), std::string("a\0b", 3)),
                     psftp::InvalidArgument, "localdir");
    psftp::Connection closed = connect();
    closed.close();
    EXPECT_THROW_MSG(closed.get_r(rdir.path().string(), ldir.path()), psftp::InvalidArgument,
                     "conn");
    EXPECT_TRUE(fs::is_empty(ldir.path()));
}

TEST(Tree, TheProgressCallbackMayUseAnotherConnection) {
    psftp::Connection sftp = connect();
    psftp::Connection other = connect();
    auto rdir = remote_dir("cbother");
    make_tree(rdir.path(), true);
    auto ldir = local_dir("cbother");
    std::set<std::string> listed;
    auto list_with_other = [&](const psftp::TreeProgress&) {
        for (const auto& name : other.listdir(rdir.path().string()))
            listed.insert(name);
    };
    psftp::TreeGetOptions listing;
    listing.progress = list_with_other;
    sftp.get_r(rdir.path().string(), ldir.path(), listing);
    EXPECT_EQ(listed.count("many"), 1u);
    EXPECT_EQ(snapshot(landed(ldir.path(), rdir.path())), snapshot(rdir.path()));
}
