# Build step of CMakeLists.txt (cmake -P): run cargo, then write psftp.pc
# and psftpConfig.cmake with the system libraries rustc says a static link
# of libpsftp.a needs.
#
# In: CARGO, MANIFEST, TEMPLATES, OUT and the template variables.
#
# rustc prints the list only when asked with --print native-static-libs;
# cargo replays that note when the library is already up to date, so the
# list is there on every run.
execute_process(
  COMMAND "${CARGO}" rustc --release --lib --manifest-path "${MANIFEST}"
          -- --print native-static-libs
  ERROR_VARIABLE cargo_stderr
  RESULT_VARIABLE cargo_rc)
message("${cargo_stderr}")
if(NOT cargo_rc EQUAL 0)
  message(FATAL_ERROR "cargo failed (exit status ${cargo_rc})")
endif()

string(REGEX MATCH "native-static-libs: ([^\n]*)" _ "${cargo_stderr}")
string(STRIP "${CMAKE_MATCH_1}" PSFTP_NATIVE_STATIC_LIBS)
if(PSFTP_NATIVE_STATIC_LIBS STREQUAL "")
  message(FATAL_ERROR "rustc did not print native-static-libs; cannot write Libs.private")
endif()

# The same list for CMake: "-lssl -lcrypto" becomes "ssl;crypto".
separate_arguments(libs UNIX_COMMAND "${PSFTP_NATIVE_STATIC_LIBS}")
list(TRANSFORM libs REPLACE "^-l" "")
list(JOIN libs ";" PSFTP_STATIC_LINK_LIBRARIES)

configure_file("${TEMPLATES}/psftp.pc.in" "${OUT}/psftp.pc" @ONLY)
configure_file("${TEMPLATES}/psftpConfig.cmake.in" "${OUT}/psftpConfig.cmake" @ONLY)
