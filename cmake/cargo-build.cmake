# Build step of CMakeLists.txt (cmake -P): run cargo, then write psftp.pc
# and psftpConfig.cmake with the system libraries rustc says a static link
# of libpsftp.a needs.
#
# In: CARGO, MANIFEST, TEMPLATES, OUT and the template variables.
#
# The library is built by exactly `cargo build --release`, so that this
# build and a later (or earlier) plain `cargo build --release` share cargo's
# fingerprint and neither rebuilds for the other. rustc prints the system
# libraries only when asked with --print native-static-libs, which would
# change that fingerprint; it is asked instead of the small static library
# cmake/native_static_libs.rs, which has psftp as its one dependency and so
# the same list. cargo replays the note when that is up to date.
function(run_cargo subcommand)
  execute_process(COMMAND "${CARGO}" ${subcommand} --manifest-path "${MANIFEST}" ${ARGN}
    ERROR_VARIABLE err
    RESULT_VARIABLE rc)
  message("${err}")
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " args)
    message(FATAL_ERROR "cargo ${subcommand} ${args} failed (exit status ${rc})")
  endif()
  set(cargo_stderr "${err}" PARENT_SCOPE)
endfunction()

run_cargo(build --release)
run_cargo(rustc --release --example native-static-libs -- --print native-static-libs)

string(REGEX MATCH "native-static-libs: ([^\n]*)" _ "${cargo_stderr}")
string(STRIP "${CMAKE_MATCH_1}" PSFTP_NATIVE_STATIC_LIBS)
if(PSFTP_NATIVE_STATIC_LIBS STREQUAL "")
  message(FATAL_ERROR "rustc did not print native-static-libs; cannot write Libs.private")
endif()

# The same list for CMake: "-lssl -lcrypto" becomes "ssl;crypto".
separate_arguments(libs UNIX_COMMAND "${PSFTP_NATIVE_STATIC_LIBS}")
list(TRANSFORM libs REPLACE "^-l" "")
list(JOIN libs ";" PSFTP_STATIC_LINK_LIBRARIES)

# psftp.pc's rpath to its libdir: on unless the packager turned it off.
if(PSFTP_PKGCONFIG_RPATH)
  set(PSFTP_PC_RPATH " -Wl,-rpath,\${libdir}")
else()
  set(PSFTP_PC_RPATH "")
endif()
configure_file("${TEMPLATES}/psftp.pc.in" "${OUT}/psftp.pc" @ONLY)
configure_file("${TEMPLATES}/psftp-static.pc.in" "${OUT}/psftp-static.pc" @ONLY)
configure_file("${TEMPLATES}/psftpConfig.cmake.in" "${OUT}/psftpConfig.cmake" @ONLY)
