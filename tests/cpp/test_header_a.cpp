// psftp.hpp in two translation units of one program (with test_header_b):
// its inline functions and templates must link without duplicate symbols
// and behave as one, including exception types thrown across the two.
#include <psftp.hpp>
#include <psftp.hpp> // the include guard makes a second include harmless

#include <gtest/gtest.h>

// Defined in test_header_b.cpp.
std::vector<std::string> header_b_path_advance(const std::string& path);
void header_b_throw_not_found();

TEST(Header, TwoTranslationUnitsShareTypesAndFunctions) {
    EXPECT_EQ(header_b_path_advance("./a/b"), psftp::path_advance("./a/b"));
    EXPECT_THROW(header_b_throw_not_found(), psftp::NotFound);
    try {
        header_b_throw_not_found();
    } catch (const psftp::Error& e) {
        EXPECT_STREQ(e.what(), "from b");
        EXPECT_EQ(e.errc(), psftp::Errc::not_found);
    }
}
