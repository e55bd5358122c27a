# Packaging step of CMakeLists.txt (cmake -P): the libraries as installed,
# from cargo's release outputs.
#
#  - SHARED_FILE (libpsftp.so.X.Y.Z): stripped, with a .gnu_debuglink to
#    SHARED_FILE.debug, which holds the symbol table and the DWARF
#    (compressed) and is installed in lib/.debug, where gdb looks for it.
#  - libpsftp.a: one relocatable object (ld -r) in which only psftp_* stay
#    global. cargo's archive also exports Rust's standard library and the
#    bundled libssh2 (libssh2_*), which clash with a system libssh2 or
#    another Rust static library linked into the same program. Debug
#    information is dropped (a static library cannot point at a separate
#    debug file), as is the LLVM bitcode that rustc embeds for LTO, which
#    no C linker uses.
#
# In: OBJCOPY, STRIP, LD, AR, CARGO_OUT (target/release), OUT, SHARED_FILE.

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "${cmd} failed (exit status ${rc}):\n${out}${err}")
  endif()
endfunction()

# Only when cargo's output changed since the last packaging.
function(outdated out in result)
  set(${result} TRUE PARENT_SCOPE)
  if(EXISTS "${out}" AND NOT "${in}" IS_NEWER_THAN "${out}")
    set(${result} FALSE PARENT_SCOPE)
  endif()
endfunction()

set(so "${CARGO_OUT}/libpsftp.so")
set(shared "${OUT}/${SHARED_FILE}")
set(debug "${OUT}/.debug/${SHARED_FILE}.debug")
outdated("${shared}" "${so}" redo)
if(redo)
  file(MAKE_DIRECTORY "${OUT}/.debug")
  file(REMOVE "${shared}" "${debug}")
  run("${OBJCOPY}" --only-keep-debug --compress-debug-sections=zlib "${so}" "${debug}")
  run("${STRIP}" --strip-unneeded -o "${shared}.tmp" "${so}")
  run("${OBJCOPY}" "--add-gnu-debuglink=${debug}" "${shared}.tmp" "${shared}")
  file(REMOVE "${shared}.tmp")
endif()

set(a "${CARGO_OUT}/libpsftp.a")
set(static "${OUT}/libpsftp.a")
outdated("${static}" "${a}" redo)
if(redo)
  set(tmp "${OUT}/libpsftp-objects")
  file(REMOVE_RECURSE "${tmp}")
  file(MAKE_DIRECTORY "${tmp}")
  file(REMOVE "${static}")
  run("${LD}" -r --whole-archive "${a}" -o "${tmp}/whole.o")
  run("${OBJCOPY}" --strip-debug
      --remove-section=.llvmbc --remove-section=.llvmcmd --remove-section=.llvm_addrsig
      --wildcard "--keep-global-symbol=psftp_*"
      "${tmp}/whole.o" "${tmp}/psftp.o")
  run("${AR}" rcsD "${static}" "${tmp}/psftp.o")
  file(REMOVE_RECURSE "${tmp}")
endif()
