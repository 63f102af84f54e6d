# `cmake --install <build> [--prefix P]`: what another project needs to use the reference, the harness and
# the kernels without add_subdirectory (docs/install.md):
#   P/bin/minimax01
#   P/lib/libmm_*.a                                   the libraries (static, as built)
#   P/include/minimax01/{core,reference,harness,cli,optimized}/...   the headers, included as "core/config.h"
#   P/lib/cmake/minimax01/                            find_package(minimax01 CONFIG): targets minimax01::*
#   P/lib/pkgconfig/minimax01.pc                      core + image + reference (the Eigen reference)
#   P/lib/pkgconfig/minimax01-harness.pc              + harness, model path, SIMT layer (and the nvcc kernels)
# The exported targets carry what using them needs: -ffp-contract=off and EIGEN_USE_BLAS (reference), the
# MM_SIMT / MM_CUDA macros (docs/architecture.md, "Build switches"), and every link dependency; the
# config file finds the dependencies again on the consumer's machine (minimax01Config.cmake.in).
include(CMakePackageConfigHelpers)

set(MM_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/minimax01)
set(MM_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/minimax01)

# Library target -> exported name (minimax01::<name>). The sanitizer variants of the SIMT runtime are
# test-only and stay out.
set(_mm_exported mm_core:core mm_image:image mm_reference:reference mm_harness:harness mm_cli:cli)
if(TARGET mm_simt)
  list(APPEND _mm_exported mm_simt:simt mm_model:model)
endif()
if(TARGET mm_optimized_cuda)
  list(APPEND _mm_exported mm_optimized_cuda:optimized_cuda)
endif()
set(_mm_targets "")
foreach(pair IN LISTS _mm_exported)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 target)
  list(GET pair 1 name)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  add_library(minimax01::${name} ALIAS ${target})  # the same names inside this build tree
  list(APPEND _mm_targets ${target})
endforeach()

install(TARGETS ${_mm_targets} minimax01
  EXPORT minimax01Targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${MM_INSTALL_INCLUDEDIR})

# Headers keep their folder, so an installed "core/config.h" is included exactly as in this tree. The
# kernels' headers (.cuh) come along: the model path's and the runners' headers include them.
foreach(dir core reference harness cli optimized)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${MM_INSTALL_INCLUDEDIR}/${dir}
    FILES_MATCHING PATTERN "*.h" PATTERN "*.cuh"
    PATTERN "proof" EXCLUDE PATTERN "tools" EXCLUDE)
endforeach()

install(EXPORT minimax01Targets NAMESPACE minimax01:: DESTINATION ${MM_INSTALL_CMAKEDIR})
# What the consumer's find_package needs to know about this build.
set(MM_PACKAGE_SIMT OFF)
if(TARGET mm_simt)
  set(MM_PACKAGE_SIMT ON)
endif()
set(MM_PACKAGE_CUDA OFF)
if(TARGET mm_optimized_cuda)
  set(MM_PACKAGE_CUDA ON)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/minimax01Config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/minimax01Config.cmake INSTALL_DESTINATION ${MM_INSTALL_CMAKEDIR})
# 0.x: any change may break users, so only the same minor version is compatible.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/minimax01ConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/minimax01Config.cmake ${CMAKE_CURRENT_BINARY_DIR}/minimax01ConfigVersion.cmake
  DESTINATION ${MM_INSTALL_CMAKEDIR})

# ---- pkg-config ----------------------------------------------------------------------------------
# Relocatable: the prefix is found from the .pc file's own place (pkg-config's ${pcfiledir}), so
# `cmake --install --prefix P` works for any P. The libraries are static, so every dependency is in
# Requires / Libs (not .private): `pkg-config --cflags --libs minimax01` is all a Makefile needs.
file(RELATIVE_PATH MM_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)  # "../.."
string(REGEX REPLACE "/$" "" MM_PC_TO_PREFIX "${MM_PC_TO_PREFIX}")
set(MM_PC_REQUIRES "eigen3 nlohmann_json libpng libjpeg sleef")
set(MM_PC_CFLAGS "-ffp-contract=off")
if(MM_USE_OPENBLAS)
  string(APPEND MM_PC_REQUIRES " openblas")
  string(APPEND MM_PC_CFLAGS " -DEIGEN_USE_BLAS")
endif()
# The harness file: the model path on the SIMT layer (and the nvcc kernels), each with its macro.
set(MM_PC_HARNESS_LIBS "-lmm_harness")
set(MM_PC_HARNESS_CFLAGS "")
# The CUDA toolkit ships no .pc file: its places on the building machine are variables of the .pc, which
# another machine overrides (pkg-config --define-variable=cuda_includedir=DIR).
set(MM_PC_CUDA_INCLUDEDIR "")
set(MM_PC_CUDA_LIBDIR "")
if(TARGET mm_simt)
  string(APPEND MM_PC_HARNESS_LIBS " -lmm_model")
  if(TARGET mm_optimized_cuda)
    get_filename_component(_cudart_dir "${CUDA_cudart_LIBRARY}" DIRECTORY)
    set(MM_PC_CUDA_LIBDIR "${_cudart_dir}")
    string(APPEND MM_PC_HARNESS_LIBS " -lmm_optimized_cuda -L\${cuda_libdir} -lcublas -lcudart")
    string(APPEND MM_PC_HARNESS_CFLAGS " -DMM_CUDA=1")
  endif()
  string(APPEND MM_PC_HARNESS_LIBS " -lmm_simt -lboost_context")
  set(MM_PC_CUDA_INCLUDEDIR "${MM_CUDA_INCLUDE_DIR}")
  string(APPEND MM_PC_HARNESS_CFLAGS " -DMM_SIMT=1 -I\${cuda_includedir} -Wno-unknown-pragmas")
endif()
foreach(pc minimax01 minimax01-harness)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
