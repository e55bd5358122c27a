// get, put, getfo, putfo and TransferOpts against the test sshd.
#include "fixture.hpp"

#include <fstream>
#include <sstream>

using namespace fixture;

namespace {
/// Records every progress call.
struct Recorder {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    psftp::Progress fn() {
        return [this](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); };
    }
    bool grows() const {
        for (std::size_t i = 1; i < calls.size(); i++)
            if (calls[i].first <= calls[i - 1].first)
                return false;
        return true;
    }
};
} // namespace

TEST(Transfer, PutAndGetCopyBytesTimesAndReportProgress) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("putget");
    auto ldir = local_dir("putget");
    const std::string data = pattern((3 << 20) + 17, 4);
    const auto local = ldir.path() / "up.bin";
    write_file(local, data);
    set_times(local, 1'234'567'990, 1'234'567'890);
    Recorder up;
    psftp::PutOptions put_opts;
    put_opts.progress = up.fn();
    put_opts.preserve_mtime = true;
    psftp::Attrs a = sftp.put(local, rdir / "up.bin", put_opts);
    EXPECT_EQ(read_file(rdir / "up.bin"), data);
    EXPECT_EQ(a.size(), data.size());
    EXPECT_EQ(a.mtime(), std::chrono::system_clock::from_time_t(1'234'567'890));
    EXPECT_EQ(stat_of(rdir / "up.bin").st_mtime, 1'234'567'890);
    EXPECT_EQ(a.permissions(), fs::perms(0644));
    ASSERT_FALSE(up.calls.empty());
    EXPECT_EQ(up.calls.back(), std::make_pair<std::uint64_t>(data.size(), data.size()));
    EXPECT_TRUE(up.grows());

    // get copies both times (set on disk: reading may update the atime).
    set_times(rdir / "up.bin", 1'000'000'500, 1'000'000'000);
    Recorder down;
    const auto back = ldir.path() / "back.bin";
    psftp::GetOptions get_opts;
    get_opts.progress = down.fn();
    get_opts.preserve_mtime = true;
    sftp.get(rdir / "up.bin", back, get_opts);
    EXPECT_EQ(stat_of(back).st_mtime, 1'000'000'000);
    EXPECT_EQ(stat_of(back).st_atime, 1'000'000'500); // before reading it
    EXPECT_EQ(read_file(back), data);
    EXPECT_EQ(down.calls.back(), std::make_pair<std::uint64_t>(data.size(), data.size()));
    EXPECT_TRUE(down.grows());

    sftp.get(rdir / "up.bin", ldir.path() / "fresh.bin");
    EXPECT_GT(stat_of(ldir.path() / "fresh.bin").st_mtime, 1'600'000'000) << "mtime not kept";
    psftp::PutOptions no_confirm;
    no_confirm.confirm = false;
    EXPECT_EQ(sftp.put(local, rdir / "up.bin", no_confirm).flags(), 0u) << "no confirm stat";
    // The progress-only form is pysftp's positional callback.
    Recorder plain;
    sftp.get(rdir / "up.bin", ldir.path() / "plain.bin", plain.fn());
    EXPECT_EQ(plain.calls.back(), std::make_pair<std::uint64_t>(data.size(), data.size()));
}

TEST(Transfer, DefaultDestinationsAreTheWorkingDirectories) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("cwd");
    auto ldir = local_dir("cwd");
    write_file(ldir.path() / "named.txt", "named");
    sftp.chdir(rdir.path().string());
    sftp.put(ldir.path() / "named.txt");
    EXPECT_EQ(read_file(rdir / "named.txt"), "named");
    auto sub = ldir.path() / "sub";
    fs::create_directory(sub);
    auto in_sub = psftp::local_cd(sub);
    sftp.get("named.txt");
    EXPECT_EQ(read_file(sub / "named.txt"), "named");
}

TEST(Transfer, AtomicOptionDecidesBetweenRenameAndInPlace) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("atomic");
    auto ldir = local_dir("atomic");
    const auto local = ldir.path() / "f";
    write_file(local, "v1");
    const std::string remote = rdir / "f";
    sftp.put(local, remote);
    const auto first = stat_of(remote).st_ino;
    write_file(local, "v2");
    sftp.put(local, remote);
    EXPECT_NE(stat_of(remote).st_ino, first) << "renamed into place by default";
    EXPECT_EQ(read_file(remote), "v2");

    psftp::TransferOpts in_place;
    in_place.set_atomic(false);
    const auto before = stat_of(remote).st_ino;
    write_file(local, "v3");
    psftp::PutOptions opts;
    opts.transfer = &in_place;
    sftp.put(local, remote, opts);
    EXPECT_EQ(stat_of(remote).st_ino, before) << "written in place";
    EXPECT_EQ(read_file(remote), "v3");
}

TEST(Transfer, ResumeContinuesOnlyAPartFileOfTheSameSource) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("resume");
    auto ldir = local_dir("resume");
    const std::string data = pattern(2'000'000, 5);
    put_remote_file(rdir / "big", data);
    const fs::path part = ldir.path() / ".big.psftp.part";
    psftp::TransferOpts resume;
    resume.set_resume(true).set_fsync(true);
    psftp::GetOptions opts;
    opts.transfer = &resume;
    // A part file nothing vouches for (no record of its source): not resumed.
    write_file(part, std::string(1000, 'X'));
    sftp.get(rdir / "big", ldir.path() / "big", opts);
    EXPECT_EQ(read_file(ldir.path() / "big"), data);
    EXPECT_FALSE(fs::exists(part));
    // An interrupted resumable get continues where it stopped.
    fs::remove(ldir.path() / "big");
    struct Stop {};
    psftp::GetOptions stopping = opts;
    stopping.progress = [](std::uint64_t, std::uint64_t) { throw Stop{}; };
    EXPECT_THROW(sftp.get(rdir / "big", ldir.path() / "big", stopping), Stop);
    const auto have = fs::file_size(part);
    EXPECT_GT(have, 0u);
    Recorder progress;
    opts.progress = progress.fn();
    sftp.get(rdir / "big", ldir.path() / "big", opts);
    ASSERT_FALSE(progress.calls.empty());
    EXPECT_GT(progress.calls.front().first, have);
    EXPECT_EQ(read_file(ldir.path() / "big"), data);
    EXPECT_FALSE(fs::exists(part));
}

TEST(Transfer, VerifyCatchesAFileAlteredOnTheServerAndRetriesAreOptions) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("verify");
    auto ldir = local_dir("verify");
    const std::string data = pattern(3'000'000, 6);
    put_remote_file(rdir / "src", data);
    write_file(ldir.path() / "dst", "old");
    psftp::TransferOpts opts;
    opts.set_verify(PSFTP_VERIFY_ALLOW_EXEC).set_retries(2, 0.1);
    bool altered = false;
    auto alter = [&](std::uint64_t done, std::uint64_t total) {
        if (done == total && !altered) {
            altered = true;
            std::fstream f(rdir / "src", std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(7);
            f.put('X');
        }
    };
    psftp::GetOptions named;
    named.progress = alter;
    named.transfer = &opts;
    EXPECT_THROW(sftp.get(rdir / "src", ldir.path() / "dst", named), psftp::IntegrityError);
    EXPECT_EQ(read_file(ldir.path() / "dst"), "old");
    put_remote_file(rdir / "src", data);
    opts.set_verify(PSFTP_VERIFY_ON);
    named.progress = nullptr;
    sftp.get(rdir / "src", ldir.path() / "dst", named);
    EXPECT_EQ(read_file(ldir.path() / "dst"), data);
    EXPECT_EQ(sftp.last_retries(), 0);
    EXPECT_THROW(opts.set_retries(-1), psftp::InvalidArgument);
}

TEST(Transfer, GetfoStreamsToAnOstreamOrAFunction) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("getfo");
    const std::string data = pattern((2 << 20) + 5, 6);
    put_remote_file(rdir / "src", data);
    std::ostringstream out;
    Recorder progress;
    EXPECT_EQ(sftp.getfo(rdir / "src", out, progress.fn()), data.size());
    EXPECT_EQ(out.str(), data);
    EXPECT_EQ(progress.calls.back().first, data.size());
    std::string collected;
    auto sink = [&](std::string_view chunk) { collected.append(chunk); };
    EXPECT_EQ(sftp.getfo(rdir / "src", sink), data.size());
    EXPECT_EQ(collected, data);
    EXPECT_THROW_MSG(sftp.getfo(rdir / "src", psftp::WriteFn()), psftp::InvalidArgument, "write");
}

TEST(Transfer, PutfoUploadsFromAnIstreamOrAFunction) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("putfo");
    const std::string data = pattern((1 << 20) + 3, 7);
    std::istringstream in(data);
    Recorder progress;
    psftp::PutfoOptions sized;
    sized.file_size = data.size();
    sized.progress = progress.fn();
    psftp::Attrs a = sftp.putfo(in, rdir / "a", sized);
    EXPECT_EQ(read_file(rdir / "a"), data);
    EXPECT_EQ(a.size(), data.size());
    EXPECT_EQ(progress.calls.back(), std::make_pair<std::uint64_t>(data.size(), data.size()));
    std::size_t pos = 0;
    auto short_reads = [&](char* buf, std::size_t size) {
        std::size_t n = std::min({size, data.size() - pos, std::size_t{10'000}});
        data.copy(buf, n, pos);
        pos += n;
        return n;
    };
    psftp::TransferOpts in_place;
    in_place.set_atomic(false);
    psftp::PutfoOptions unconfirmed;
    unconfirmed.confirm = false;
    unconfirmed.transfer = &in_place;
    EXPECT_EQ(sftp.putfo(short_reads, rdir / "b", unconfirmed).flags(), 0u);
    EXPECT_EQ(read_file(rdir / "b"), data);
}
