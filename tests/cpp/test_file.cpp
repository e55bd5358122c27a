// Remote files (pysftp open()): reading, writing, seeking, modes.
#include "fixture.hpp"

using namespace fixture;

TEST(File, ReadWriteSeekTellWithEveryBuffering) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("file");
    const std::string big = pattern(300'000, 8);
    for (std::int64_t bufsize : {-1, 0, 1, 4096}) {
        SCOPED_TRACE("bufsize " + std::to_string(bufsize));
        const std::string path = dir / ("f" + std::to_string(bufsize));
        psftp::File f = sftp.open(path, "w+", bufsize);
        f.write("line one\nline two\nrest");
        f.write(big);
        EXPECT_EQ(f.tell(), 22 + big.size());
        EXPECT_EQ(f.seek(0), 0u);
        EXPECT_EQ(f.readline(), "line one\n");
        EXPECT_EQ(f.readline(100), "line two\n");
        EXPECT_EQ(f.read(4), "rest");
        EXPECT_EQ(f.read(), big);
        EXPECT_EQ(f.read(10), "") << "EOF";
        EXPECT_EQ(f.readline(), "");
        EXPECT_EQ(f.seek(-4, std::ios::end), 22 + big.size() - 4);
        EXPECT_EQ(f.seek(-2, std::ios::cur), 22 + big.size() - 6);
        char raw[3];
        EXPECT_EQ(f.read(raw, sizeof raw), 3u);
        EXPECT_EQ(std::string(raw, 3), big.substr(big.size() - 6, 3));
        EXPECT_EQ(f.stat().size(), 22 + big.size());
        f.truncate(5);
        f.flush();
        f.fsync();
        f.close();
        EXPECT_EQ(read_file(path), "line ");
        f.close(); // closing twice is harmless
        EXPECT_THROW(f.tell(), psftp::InvalidArgument);
    }
}

TEST(File, ModesFollowPython) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("fmodes");
    const std::string path = dir / "f";
    EXPECT_THROW_MSG(sftp.open(path, "r"), psftp::NotFound, "/f");
    {
        psftp::File f = sftp.open(path, "wb");
        f.write("hello");
        EXPECT_THROW_MSG(f.read(4), psftp::InvalidArgument, "not opened for reading");
    } // the destructor flushes and closes
    EXPECT_EQ(read_file(path), "hello");
    {
        psftp::File f = sftp.open(path, "a");
        f.seek(0);
        f.write(" world"); // append mode: lands at the end anyway
    }
    EXPECT_EQ(read_file(path), "hello world");
    psftp::File rw = sftp.open(path, "r+");
    rw.write("J");
    rw.seek(0);
    EXPECT_EQ(rw.read(), "Jello world");
    EXPECT_THROW_MSG(rw.seek(-1), psftp::InvalidArgument, "offset");
    rw.close();
    EXPECT_THROW_MSG(sftp.open(path, "x"), psftp::AlreadyExists, "/f");
    sftp.open(dir / "new", "x").close();
    EXPECT_TRUE(fs::exists(dir / "new"));
    for (const char* bad : {"rt", "z", "rw"})
        EXPECT_THROW_MSG(sftp.open(path, bad), psftp::InvalidArgument, "mode");
}

TEST(File, LongLinesAndMovedFiles) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("flines");
    const std::string long_line = pattern(200'000, 9);
    std::string text;
    for (char c : long_line)
        text += c == '\n' ? ' ' : c; // one line longer than the read chunk
    put_remote_file(dir / "f", text + "\nshort\n");
    psftp::File a = sftp.open(dir / "f");
    psftp::File b = std::move(a);
    EXPECT_EQ(a.handle(), nullptr);
    EXPECT_EQ(b.readline(), text + "\n");
    EXPECT_EQ(b.readline(3), "sho");
    EXPECT_EQ(b.readline(), "rt\n");
    EXPECT_THROW(a.read(1), psftp::InvalidArgument);
}
