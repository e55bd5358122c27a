// psftp::ifstream, psftp::ofstream and remote_streambuf: iostreams over
// remote files, checked byte for byte against the files on disk.
#include "fixture.hpp"

#include <iterator>
#include <sstream>

using namespace fixture;

namespace {
/// Text of `count` numbered lines, one of them longer than the buffer.
std::string numbered_lines(int count, std::vector<std::string>& lines) {
    std::string text;
    for (int i = 0; i < count; i++) {
        std::string line = "line " + std::to_string(i) + " " + std::string(i % 97, 'x');
        if (i == count / 2)
            line += std::string(200'000, 'L'); // longer than the 64 KiB buffer
        lines.push_back(line);
        text += line + "\n";
    }
    return text;
}
} // namespace

TEST(Streams, GetlineReadsEveryLineOfALargeRemoteFile) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("sgetline");
    std::vector<std::string> expected;
    const std::string text = numbered_lines(100'000, expected); // about 5.2 MB
    put_remote_file(dir / "log", text + "no newline at the end");
    expected.push_back("no newline at the end");

    psftp::ifstream in(sftp, dir / "log");
    ASSERT_TRUE(in.is_open());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    EXPECT_TRUE(in.eof());
    ASSERT_EQ(lines.size(), expected.size());
    EXPECT_EQ(lines, expected);
}

TEST(Streams, ReadAndIstreambufIteratorAreByteExact) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("sbytes");
    const std::string data = pattern((9 << 20) + 12'345, 21); // every byte value
    put_remote_file(dir / "bin", data);

    psftp::ifstream whole(sftp, dir / "bin");
    const std::string via_iterator{std::istreambuf_iterator<char>(whole),
                                   std::istreambuf_iterator<char>()};
    EXPECT_EQ(via_iterator, data);

    // Small reads through the buffer and large ones past it, interleaved.
    psftp::ifstream in(sftp, dir / "bin", std::ios::binary, 4096);
    std::string got;
    std::size_t step = 1;
    while (got.size() < data.size()) {
        std::string chunk(step, '\0');
        in.read(chunk.data(), static_cast<std::streamsize>(step));
        chunk.resize(static_cast<std::size_t>(in.gcount()));
        got += chunk;
        step = step * 3 % 100'003 + 1; // 1, 4, 13, ... some far above 4096
        if (!in)
            break;
    }
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data) << "bytes differ";
}

TEST(Streams, OfstreamWritesFormattedAndLargeDataByteExact) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("sout");
    const std::string blob = pattern((5 << 20) + 7, 22);
    std::ostringstream expected;
    {
        psftp::ofstream out(sftp, dir / "out");
        for (int i = 0; i < 50'000; i++) {
            out << i << ' ' << i * 0.5 << '\n';
            expected << i << ' ' << i * 0.5 << '\n';
        }
        out.write(blob.data(), static_cast<std::streamsize>(blob.size())); // past the buffer
        expected.write(blob.data(), static_cast<std::streamsize>(blob.size()));
        out << "tail";
        expected << "tail";
        out.close();
        EXPECT_TRUE(out.good());
        EXPECT_FALSE(out.is_open());
    }
    EXPECT_TRUE(read_file(dir / "out") == expected.str()) << "bytes differ";

    // Formatted input reads it back.
    psftp::ifstream in(sftp, dir / "out");
    int n = -1;
    double half = -1;
    long long sum = 0;
    for (int i = 0; i < 50'000 && in >> n >> half; i++) {
        EXPECT_EQ(n, i);
        EXPECT_EQ(half, i * 0.5);
        sum += n;
    }
    EXPECT_EQ(sum, 50'000LL * 49'999 / 2);
}

TEST(Streams, TheDestructorFlushesAndAppendModeAppends) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("sappend");
    {
        psftp::ofstream out(sftp, dir / "f");
        out << "first\n";
    } // no close(): the destructor writes it
    EXPECT_EQ(read_file(dir / "f"), "first\n");
    {
        psftp::ofstream out(sftp, dir / "f", std::ios::app);
        out << "second\n";
        out.flush(); // reaches the server now
        EXPECT_EQ(read_file(dir / "f"), "first\nsecond\n");
    }
    {
        psftp::ofstream out(sftp, dir / "f"); // truncates, as std::ofstream
        out << "new";
    }
    EXPECT_EQ(read_file(dir / "f"), "new");
}

TEST(Streams, SeekgAndTellgFollowTheBytesConsumed) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("sseek");
    const std::string data = pattern(300'000, 23);
    put_remote_file(dir / "f", data);
    psftp::ifstream in(sftp, dir / "f");
    EXPECT_EQ(in.tellg(), std::streampos(0));
    char buf[10];
    in.read(buf, 10);
    EXPECT_EQ(std::string(buf, 10), data.substr(0, 10));
    EXPECT_EQ(in.tellg(), std::streampos(10)) << "the buffer read ahead; tellg does not";
    EXPECT_EQ(in.get(), static_cast<unsigned char>(data[10]));
    EXPECT_EQ(in.tellg(), std::streampos(11));

    in.seekg(250'000);
    in.read(buf, 10);
    EXPECT_EQ(std::string(buf, 10), data.substr(250'000, 10));
    in.seekg(-100, std::ios::cur);
    EXPECT_EQ(in.tellg(), std::streampos(249'910));
    in.read(buf, 10);
    EXPECT_EQ(std::string(buf, 10), data.substr(249'910, 10));
    in.seekg(-5, std::ios::end);
    std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(tail, data.substr(data.size() - 5));

    // Before the start: failbit, as for a local file; clear() recovers.
    in.clear();
    in.seekg(-1, std::ios::beg);
    EXPECT_TRUE(in.fail());
    EXPECT_FALSE(in.bad());
    ASSERT_TRUE(in.rdbuf()->error().has_value());
    EXPECT_EQ(in.rdbuf()->error()->code(), std::errc::invalid_argument);
    in.clear();
    in.seekg(3);
    EXPECT_EQ(in.get(), static_cast<unsigned char>(data[3]));
}

TEST(Streams, ReadWriteStreamSwitchesDirectionAtTheRightPlace) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("srw");
    const std::string data = pattern(200'000, 24);
    put_remote_file(dir / "f", data);
    psftp::remote_streambuf buf(sftp.open(dir / "f", "r+"), 1024);
    std::iostream io(&buf);
    char head[100];
    io.read(head, 100); // the buffer holds 1024 bytes; the File is ahead
    io.write("XYZ", 3); // lands at 100, where the reader stands
    std::string next(5, '\0');
    io.read(next.data(), 5); // and reading goes on after it
    EXPECT_EQ(next, data.substr(103, 5));
    io.seekp(150'000);
    io << "middle";
    io.seekg(0, std::ios::end);
    EXPECT_EQ(io.tellg(), std::streampos(200'000));
    io << "end";
    buf.close();
    std::string expected = data;
    expected.replace(100, 3, "XYZ");
    expected.replace(150'000, 6, "middle");
    expected += "end";
    EXPECT_TRUE(read_file(dir / "f") == expected) << "bytes differ";
}

TEST(Streams, ErrorsKeepPsftpsExceptionAndMessage) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("serr");
    EXPECT_THROW_MSG(psftp::ifstream(sftp, dir / "missing"), psftp::NotFound, "missing");
    put_remote_file(dir / "f", pattern(500'000, 25));

    // Without exceptions(): badbit, and the psftp error kept in the buffer.
    psftp::ifstream quiet(sftp, dir / "f", std::ios::in, 1000);
    psftp::ifstream loud(sftp, dir / "f", std::ios::in, 1000);
    loud.exceptions(std::ios::badbit);
    sftp.close(); // the files outlive their connection
    char c[2000];
    quiet.read(c, sizeof c);
    EXPECT_TRUE(quiet.bad());
    ASSERT_TRUE(quiet.rdbuf()->error().has_value());
    EXPECT_EQ(quiet.rdbuf()->error()->errc(), psftp::Errc::connection_lost);
    EXPECT_NE(std::string(quiet.rdbuf()->error()->what()).find("closed"), std::string::npos);
    // With exceptions(badbit): psftp's own exception comes out.
    EXPECT_THROW_MSG(loud.read(c, sizeof c), psftp::ConnectionLost, "closed");
}

TEST(Streams, OpenModesFollowStdFilebuf) {
    using std::ios;
    using psftp::detail::stream_mode;
    EXPECT_STREQ(stream_mode(ios::in), "r");
    EXPECT_STREQ(stream_mode(ios::in | ios::binary), "r");
    EXPECT_STREQ(stream_mode(ios::out), "w");
    EXPECT_STREQ(stream_mode(ios::out | ios::trunc), "w");
    EXPECT_STREQ(stream_mode(ios::out | ios::app), "a");
    EXPECT_STREQ(stream_mode(ios::app), "a");
    EXPECT_STREQ(stream_mode(ios::in | ios::out), "r+");
    EXPECT_STREQ(stream_mode(ios::in | ios::out | ios::trunc), "w+");
    EXPECT_STREQ(stream_mode(ios::in | ios::app), "a+");
    EXPECT_THROW_MSG(stream_mode(ios::in | ios::trunc), psftp::InvalidArgument, "trunc");
    EXPECT_THROW_MSG(stream_mode(ios::out | ios::app | ios::trunc), psftp::InvalidArgument,
                     "trunc");

    psftp::Connection sftp = connect();
    auto dir = remote_dir("smodes");
    EXPECT_THROW_MSG(psftp::fstream(sftp, dir / "missing"), psftp::NotFound, "missing");
    put_remote_file(dir / "f", "0123456789");
    {
        psftp::fstream io(sftp, dir / "f"); // in|out: "r+", kept
        std::string head(4, '\0');
        io.read(head.data(), 4);
        EXPECT_EQ(head, "0123");
        io << "ab";
        io.close();
    }
    EXPECT_EQ(read_file(dir / "f"), "0123ab6789");
    {
        psftp::fstream io(sftp, dir / "f", ios::in | ios::out | ios::trunc);
        io << "fresh";
        io.seekg(0);
        std::string all;
        io >> all;
        EXPECT_EQ(all, "fresh");
    }
    EXPECT_EQ(read_file(dir / "f"), "fresh");
    {
        psftp::fstream io(sftp, dir / "f", ios::in | ios::app);
        io << "+more";
    }
    EXPECT_EQ(read_file(dir / "f"), "fresh+more");
}
