// Exceptions thrown in callbacks: stored, the C call stops, and the same
// exception comes out once the C call has returned.
#include "fixture.hpp"

#include <sstream>

using namespace fixture;

namespace {
struct Stop : std::runtime_error {
    using std::runtime_error::runtime_error;
};
} // namespace

TEST(Callbacks, ProgressExceptionStopsAGetAndKeepsTheOldFile) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cbget");
    auto ldir = local_dir("cbget");
    put_remote_file(rdir / "big", pattern(8 << 20, 1));
    const auto local = ldir.path() / "big";
    write_file(local, "the good old content");
    int calls = 0;
    auto stop_at_two = [&](std::uint64_t, std::uint64_t) {
        if (++calls == 2)
            throw Stop("stop here");
    };
    EXPECT_THROW_MSG(sftp.get(rdir / "big", local, stop_at_two), Stop, "stop here");
    EXPECT_EQ(calls, 2) << "no callback after the exception";
    EXPECT_EQ(read_file(local), "the good old content");
    EXPECT_EQ(std::distance(fs::directory_iterator(ldir.path()), {}), 1) << "no part file left";
    EXPECT_EQ(sftp.listdir(rdir.path().string()), std::vector<std::string>{"big"})
        << "the connection is still in step";
}

TEST(Callbacks, ProgressExceptionStopsAPutAndKeepsTheRemoteFile) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cbput");
    auto ldir = local_dir("cbput");
    put_remote_file(rdir / "target", "remote original");
    write_file(ldir.path() / "big", pattern(8 << 20, 2));
    auto throw_at_once = [](std::uint64_t, std::uint64_t) { throw Stop("no upload"); };
    EXPECT_THROW_MSG(sftp.put(ldir.path() / "big", rdir / "target", throw_at_once), Stop,
                     "no upload");
    EXPECT_EQ(read_file(rdir / "target"), "remote original");
    EXPECT_EQ(sftp.listdir(rdir.path().string()), std::vector<std::string>{"target"});
}

TEST(Callbacks, WriteAndReadFunctionExceptionsStopGetfoAndPutfo) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cbfo");
    put_remote_file(rdir / "src", pattern(2 << 20, 3));
    int chunks = 0;
    auto failing_sink = [&](std::string_view) {
        if (++chunks == 1)
            throw Stop("sink full");
    };
    EXPECT_THROW_MSG(sftp.getfo(rdir / "src", failing_sink), Stop, "sink full");
    EXPECT_EQ(chunks, 1);
    auto failing_source = [](char*, std::size_t) -> std::size_t { throw Stop("source broken"); };
    EXPECT_THROW_MSG(sftp.putfo(failing_source, rdir / "src"), Stop, "source broken");
    EXPECT_EQ(read_file(rdir / "src"), pattern(2 << 20, 3));
}

TEST(Callbacks, FailingStreamsAreLocalIoErrors) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cbstream");
    put_remote_file(rdir / "src", "data");
    std::ostringstream broken_out;
    broken_out.setstate(std::ios::badbit);
    EXPECT_THROW_MSG(sftp.getfo(rdir / "src", broken_out), psftp::LocalIoError, "output stream");
    std::istringstream broken_in("data");
    broken_in.setstate(std::ios::badbit);
    EXPECT_THROW_MSG(sftp.putfo(broken_in, rdir / "dst"), psftp::LocalIoError, "input stream");
    EXPECT_FALSE(fs::exists(rdir / "dst"));
}

TEST(Callbacks, WalkExceptionStopsTheWalk) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cbwalk");
    for (const char* name : {"a", "b", "c"})
        put_remote_file(rdir / name, name);
    std::vector<std::string> seen;
    auto stop_at_b = [&](const std::string& path, const psftp::Attrs&) {
        seen.push_back(path);
        if (path == rdir / "b")
            throw Stop("found b");
        return psftp::Walk::Continue;
    };
    EXPECT_THROW_MSG(sftp.walktree(rdir.path().string(), stop_at_b, nullptr, nullptr), Stop,
                     "found b");
    EXPECT_EQ(seen, (std::vector<std::string>{rdir / "a", rdir / "b"}));
}

TEST(Callbacks, APsftpErrorInsideACallbackComesOutUnchanged) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cbnested");
    put_remote_file(rdir / "a", "a");
    auto stat_missing = [&](const std::string&, const psftp::Attrs&) {
        sftp.stat(rdir / "missing"); // callbacks may use the connection
        return psftp::Walk::Continue;
    };
    EXPECT_THROW_MSG(sftp.walktree(rdir.path().string(), stat_missing, nullptr, nullptr),
                     psftp::NotFound, "missing");
}
