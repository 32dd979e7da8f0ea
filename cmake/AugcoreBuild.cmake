# Build helpers: ccache, sanitizers, warnings for project code, the Torch precompiled header,
# CUDA detection.

find_program(AUGCORE_CCACHE ccache)
if(AUGCORE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  # PCH-friendly ccache settings (without them every PCH user is a cache miss); paths made
  # relative to the checkout and the build directory left out of the hash, so that every clone
  # (CI's fresh ones included) shares one cache; room for three toolchains' objects and PCHs.
  # Clang's PCH records the absolute path of the directory it was built in and fails where that
  # is gone, so with clang the directory stays in the hash: its objects are shared only between
  # builds at one path (tools/test.sh --sanitize builds every checkout through one).
  set(_augcore_hash_dir CCACHE_NOHASHDIR=1)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set(_augcore_hash_dir CCACHE_HASHDIR=1)
  endif()
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}" ${_augcore_hash_dir} CCACHE_MAXSIZE=12G
      ${AUGCORE_CCACHE})
  message(STATUS "augcore: using ccache ${AUGCORE_CCACHE}")
endif()

# -Wall -Wextra for the project's own sources (Torch headers are system headers).
function(augcore_project_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()

# Precompile the Torch headers once for the library and reuse them where flags allow.
function(augcore_torch_pch target)
  if(AUGCORE_USE_PCH)
    target_precompile_headers(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/augcore_pch.h)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      # Without it clang stamps each header's mtime into the PCH, and ccache will not reuse a
      # PCH (nor any object built with it) in a fresh checkout, whose files are all new.
      target_compile_options(${target} PRIVATE "SHELL:-Xclang -fno-pch-timestamp")
    endif()
  endif()
endfunction()

# Sets `out` to ON when the Torch found by find_package(Torch) was built with CUDA.
function(augcore_detect_torch_cuda out)
  if(TARGET torch_cuda OR TARGET c10_cuda OR CUDA_FOUND)
    set(${out} ON PARENT_SCOPE)
  else()
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()

# AUGCORE_SANITIZE: ASan + UBSan on every target; AUGCORE_FUZZ adds libFuzzer's coverage
# instrumentation (clang only) so that the fuzz targets can be built as libFuzzer programs.
macro(augcore_sanitizers)
  if(AUGCORE_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      message(FATAL_ERROR "AUGCORE_FUZZ needs clang (configure with -DCMAKE_CXX_COMPILER=clang++)")
    endif()
    set(AUGCORE_SANITIZE ON)
    add_compile_options(-fsanitize=fuzzer-no-link)
  endif()
  if(AUGCORE_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
    message(STATUS "augcore: AddressSanitizer + UndefinedBehaviorSanitizer build")
  endif()
endmacro()
