// std::error_code interop: psftp's error_category, its std::errc
// equivalents, psftp::Error as a std::system_error, and the non-throwing
// overloads taking a std::error_code&.
#include "fixture.hpp"

#include <map>
#include <set>

using namespace fixture;

namespace {
/// Every code of the library's table (contiguous from -1).
std::vector<int> library_codes() {
    std::vector<int> codes;
    for (int code = -1; std::string(psftp_error_name(code)) != "EUNKNOWN"; code--)
        codes.push_back(code);
    return codes;
}
} // namespace

TEST(ErrorCode, EveryCodeOfTheTableHasADistinctMessage) {
    const std::error_category& cat = psftp::error_category();
    EXPECT_STREQ(cat.name(), "psftp");
    std::set<std::string> messages;
    const std::vector<int> codes = library_codes();
    EXPECT_GE(codes.size(), 20u);
    for (int code : codes) {
        const std::string m = cat.message(code);
        EXPECT_EQ(m.find("unknown"), std::string::npos) << psftp_strerror(code) << ": " << m;
        messages.insert(m);
        const std::error_code ec(code, cat);
        EXPECT_EQ(ec, psftp::make_error_code(static_cast<psftp::Errc>(code)));
        EXPECT_EQ(ec.message(), m);
    }
    EXPECT_EQ(messages.size(), codes.size()) << "each code says something of its own";
    EXPECT_EQ(cat.message(-999), "unknown psftp error -999");
    EXPECT_EQ(cat.message(PSFTP_OK), "success");
    const std::error_code from_enum = psftp::Errc::not_found; // is_error_code_enum
    EXPECT_EQ(&from_enum.category(), &cat);
    EXPECT_EQ(from_enum.value(), PSFTP_E_NOT_FOUND);
}

TEST(ErrorCode, PortableConditionsWhereTheyHold) {
    using E = psftp::Errc;
    const std::map<E, std::errc> same = {
        {E::invalid_arg, std::errc::invalid_argument},
        {E::not_found, std::errc::no_such_file_or_directory},
        {E::permission, std::errc::permission_denied},
        {E::exists, std::errc::file_exists},
        {E::not_a_directory, std::errc::not_a_directory},
        {E::timeout, std::errc::timed_out},
        {E::cancelled, std::errc::operation_canceled},
        {E::connection_lost, std::errc::connection_aborted},
        {E::unsupported, std::errc::operation_not_supported},
        {E::dir_not_empty, std::errc::directory_not_empty}};
    std::set<std::errc> all_portable;
    for (const auto& [code, errc] : same)
        all_portable.insert(errc);
    for (int value : library_codes()) {
        const E code = static_cast<E>(value);
        const std::error_code ec = code;
        const auto it = same.find(code);
        if (it != same.end()) {
            EXPECT_EQ(ec, it->second) << psftp_strerror(value);
            EXPECT_EQ(ec.default_error_condition(), std::make_error_condition(it->second));
        } else {
            // No POSIX meaning: equal to none of them, a condition of psftp's own.
            for (std::errc errc : all_portable)
                EXPECT_NE(ec, errc) << psftp_strerror(value);
            EXPECT_EQ(&ec.default_error_condition().category(), &psftp::error_category());
        }
    }
    EXPECT_NE(std::error_code(E::auth), std::errc::permission_denied)
        << "a refused login is not a refused file";
    const psftp::TreeFailure failure{"a/b", PSFTP_E_PERMISSION, "open 'a/b': denied"};
    EXPECT_EQ(failure.error_code(), std::errc::permission_denied);
}

TEST(ErrorCode, ExceptionsAreSystemErrorsCarryingTheCode) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("ecexc");
    try {
        sftp.stat(dir / "nope");
        ADD_FAILURE() << "no exception";
    } catch (const std::system_error& e) { // catchable as the standard type
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        EXPECT_EQ(e.code(), psftp::Errc::not_found);
        EXPECT_EQ(&e.code().category(), &psftp::error_category());
        // what() is psftp's message alone, naming the path.
        EXPECT_NE(std::string(e.what()).find(dir / "nope"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("no such remote file"), std::string::npos)
            << "no category text appended: " << e.what();
        EXPECT_NE(dynamic_cast<const psftp::NotFound*>(&e), nullptr);
    }
    try {
        sftp.mkdir("/root/psftp-cpp-ec-denied");
        ADD_FAILURE() << "no exception";
    } catch (const psftp::Error& e) {
        EXPECT_EQ(e.code(), std::errc::permission_denied);
        EXPECT_FALSE(e.os_error()) << "a remote failure has no local errno";
    }
}

TEST(ErrorCode, LocalFailuresCarryTheirErrno) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("ecos");
    try {
        sftp.put("/no/such/local/file", dir / "x");
        ADD_FAILURE() << "no exception";
    } catch (const psftp::LocalIoError& e) {
        EXPECT_EQ(e.code(), psftp::Errc::local_io);
        EXPECT_EQ(e.os_error(), std::errc::no_such_file_or_directory) << e.what();
        EXPECT_EQ(&e.os_error().category(), &std::generic_category());
    }
}

TEST(ErrorCode, NonThrowingOverloadsSetTheCodeAndClearItOnSuccess) {
    psftp::Connection sftp = connect();
    auto dir = remote_dir("ecnothrow");
    put_remote_file(dir / "f", "x");
    fs::create_directory(dir / "full");
    put_remote_file(dir / "full/inner", "y");
    chown_to_test_user(dir / "full");
    std::error_code ec = psftp::Errc::sftp; // stale: success clears it

    EXPECT_EQ(sftp.stat(dir / "f", ec).size(), 1u);
    EXPECT_FALSE(ec);
    const psftp::Attrs missing = sftp.stat(dir / "nope", ec);
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    EXPECT_EQ(missing.flags(), 0u);
    EXPECT_NE(sftp.last_error().find("nope"), std::string::npos) << sftp.last_error();
    EXPECT_FALSE(sftp.lstat(dir / "nope", ec).has_size());
    EXPECT_EQ(ec, psftp::Errc::not_found);

    // As std::filesystem::exists: missing is false without an error.
    ec = psftp::Errc::sftp;
    EXPECT_FALSE(sftp.exists(dir / "nope", ec));
    EXPECT_FALSE(ec);
    EXPECT_TRUE(sftp.exists(dir / "f", ec));
    EXPECT_TRUE(sftp.lexists(dir / "f", ec));
    EXPECT_TRUE(sftp.isfile(dir / "f", ec));
    EXPECT_FALSE(sftp.isdir(dir / "f", ec));
    EXPECT_FALSE(ec);

    EXPECT_TRUE(sftp.listdir(dir / "f", ec).empty());
    EXPECT_EQ(ec, std::errc::not_a_directory);
    EXPECT_EQ(sftp.listdir_attr(dir / "full", ec).size(), 1u);
    EXPECT_FALSE(ec);

    sftp.mkdir(dir / "full", ec);
    EXPECT_EQ(ec, std::errc::file_exists);
    sftp.mkdir(dir / "new", fs::perms::owner_all, ec);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(fs::is_directory(dir / "new"));
    sftp.makedirs(dir / "new/a/b", ec);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(fs::is_directory(dir / "new/a/b"));
    sftp.rmdir(dir / "full", ec);
    EXPECT_EQ(ec, std::errc::directory_not_empty);
    EXPECT_TRUE(fs::exists(dir / "full/inner")) << "nothing removed";
    sftp.remove(dir / "nope", ec);
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    sftp.rename(dir / "f", dir / "full", ec);
    EXPECT_EQ(ec, std::errc::file_exists);
    EXPECT_EQ(read_file(dir / "f"), "x") << "rename refused: source kept";
    sftp.posix_rename(dir / "f", dir / "g", ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(read_file(dir / "g"), "x");
    sftp.chmod(dir / "g", static_cast<fs::perms>(010000), ec);
    EXPECT_EQ(ec, std::errc::invalid_argument);
    sftp.unlink(dir / "g", ec);
    EXPECT_FALSE(ec);
    EXPECT_FALSE(fs::exists(dir / "g"));
    sftp.remove(dir / "full/inner", ec);
    sftp.rmdir(dir / "full", ec);
    EXPECT_FALSE(ec);
    EXPECT_FALSE(fs::exists(dir / "full"));
    sftp.symlink(dir / "target", dir / "link");
    EXPECT_EQ(sftp.readlink(dir / "link", ec), dir / "target");
    EXPECT_FALSE(ec);
    EXPECT_EQ(sftp.readlink(dir / "nope", ec), "");
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    EXPECT_EQ(sftp.normalize(dir.path().string(), ec), dir.path().string());
    EXPECT_FALSE(ec);
    EXPECT_EQ(sftp.normalize(dir / "nope/deeper", ec), ""); // a missing parent
    EXPECT_EQ(ec, psftp::Errc::not_found);
    // A NUL byte is refused before psftp is called, as an error_code too.
    sftp.remove(dir / "x" + std::string("\0y", 2), ec);
    EXPECT_EQ(ec, std::errc::invalid_argument);
}

TEST(ErrorCode, GetAndPutReportFailuresInAnErrorCode) {
    psftp::Connection sftp = connect();
    auto rdir = remote_dir("ec-transfer");
    auto ldir = local_dir("ec-transfer");
    write_file(ldir.path() / "up", "uploaded");
    std::error_code ec = make_error_code(std::errc::io_error); // cleared on success
    const psftp::Attrs a = sftp.put(ldir.path() / "up", rdir / "up", ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(a.size(), 8u);
    ec = make_error_code(std::errc::io_error);
    sftp.get(rdir / "up", ldir.path() / "down", ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(read_file(ldir.path() / "down"), "uploaded");

    sftp.get(rdir / "missing", ldir.path() / "never", ec);
    EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
    EXPECT_EQ(ec, psftp::Errc::not_found);
    EXPECT_FALSE(fs::exists(ldir.path() / "never"));
    const psftp::Attrs none = sftp.put(ldir.path() / "missing", rdir / "never", ec);
    EXPECT_EQ(ec, psftp::Errc::local_io);
    EXPECT_EQ(none.flags(), 0u);

    // With options; a callback's own exception still comes out.
    psftp::GetOptions o;
    o.preserve_mtime = true;
    sftp.get(rdir / "up", ldir.path() / "again", o, ec);
    EXPECT_FALSE(ec);
    psftp::PutOptions p;
    p.confirm = false;
    EXPECT_EQ(sftp.put(ldir.path() / "up", rdir / "up2", p, ec).flags(), 0u);
    EXPECT_FALSE(ec);
    p.progress = [](std::uint64_t, std::uint64_t) { throw std::runtime_error("mine"); };
    EXPECT_THROW(sftp.put(ldir.path() / "up", rdir / "up3", p, ec), std::runtime_error);
}
