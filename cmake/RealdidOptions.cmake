# Compiler warnings and sanitizer configuration shared by every target of the project.
# Use realdid_target_defaults(<target>) on each project target (never on third-party code).

add_library(realdid_build_flags INTERFACE)
target_compile_options(realdid_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wformat=2
  -Wimplicit-fallthrough)
if(REALDID_WERROR)
  target_compile_options(realdid_build_flags INTERFACE -Werror)
endif()
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 at -O2 reports -Wmaybe-uninitialized inside std::variant's own storage and
  # -Wnull-dereference inside libstdc++'s streambuf (known false positives in the library headers,
  # not in our code); clang, which the sanitizer build uses, keeps -Wnull-dereference.
  target_compile_options(realdid_build_flags INTERFACE -Wno-maybe-uninitialized)
else()
  target_compile_options(realdid_build_flags INTERFACE -Wnull-dereference)
endif()
# Hardening for every build type.
target_compile_options(realdid_build_flags INTERFACE -fstack-protector-strong -fno-omit-frame-pointer)
if(NOT REALDID_SANITIZE AND NOT REALDID_TSAN)
  target_compile_definitions(realdid_build_flags INTERFACE $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
endif()
target_compile_definitions(realdid_build_flags INTERFACE _GLIBCXX_ASSERTIONS)

if(REALDID_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  add_compile_options(${_san})
  add_link_options(${_san})
endif()
if(REALDID_TSAN)
  add_compile_options(-fsanitize=thread)
  add_link_options(-fsanitize=thread)
endif()
if(REALDID_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "REALDID_FUZZ needs clang (libFuzzer)")
  endif()
  # Coverage instrumentation for everything; the -fsanitize=fuzzer driver only on fuzz executables.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

function(realdid_target_defaults target)
  target_link_libraries(${target} PRIVATE realdid_build_flags)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
