# Every dependency is a Debian package (scripts/setup-deps.sh installs them); find_package only.
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Threads REQUIRED)
# The command line's parser (cli/args.h): CLI11, header-only.
find_package(CLI11 2.1 CONFIG REQUIRED)
# Image decoding (core/image_decode.h): Debian's libpng 1.6 and libjpeg-turbo, not hand-written codecs.
find_package(PNG REQUIRED)
find_package(JPEG REQUIRED)
if(MM_USE_OPENBLAS)
  set(BLA_VENDOR OpenBLAS)
  find_package(BLAS REQUIRED)
endif()
if(MM_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(MM_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
# The CUDA toolkit is optional: the project configures, builds and passes its tests without it.
include(CheckLanguage)
check_language(CUDA)
find_package(CUDAToolkit QUIET)

# The two build switches (declared and described in the top-level CMakeLists.txt), resolved here.
# MM_CUDA asks for the nvcc build; without nvcc or the CUDA libraries this configure turns it OFF (a
# normal variable over the cached request, so a later configure asks again). scripts/gpu-kit.sh looks
# for the "GPU build of the kernels disabled" line.
if(MM_CUDA AND NOT (CMAKE_CUDA_COMPILER AND TARGET CUDA::cudart AND TARGET CUDA::cublas))
  message(STATUS "mm: GPU build of the kernels disabled (nvcc or CUDA::cudart/cublas not found)")
  set(MM_CUDA OFF)
elseif(NOT MM_CUDA)
  message(STATUS "mm: GPU build of the kernels disabled (MM_CUDA=OFF)")
endif()
# MM_SIMT: the SIMT build compiles kernels against CUDA's own host-usable headers (cuda_bf16.h,
# vector_types.h), so it needs the toolkit's include directory, not nvcc and not a GPU; and Boost.Context.
if(MM_SIMT)
  find_path(MM_CUDA_INCLUDE_DIR cuda_bf16.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{CUDA_HOME}/include $ENV{CUDA_PATH}/include /usr/local/cuda/include)
  find_package(Boost 1.74 QUIET COMPONENTS context)
  if(NOT (MM_CUDA_INCLUDE_DIR AND Boost_CONTEXT_FOUND))
    # Without the layer no kernel would be tested, and CI would pass having run none of them: refuse.
    message(FATAL_ERROR "mm: the SIMT-on-CPU layer needs the CUDA headers (found: '${MM_CUDA_INCLUDE_DIR}') and "
                        "libboost-context-dev (found: '${Boost_CONTEXT_FOUND}'); run scripts/setup-deps.sh, or "
                        "configure with -DMM_SIMT=OFF to build without kernel tests")
  endif()
endif()

# SLEEF (Debian's libsleef-dev): vectorised erf / exp with a 1-ulp bound, for the vision tower's GELU and
# softmax (reference/vector_math.h) - the library PyTorch's CPU kernels use for the same functions.
find_path(MM_SLEEF_INCLUDE_DIR sleef.h PATH_SUFFIXES ${CMAKE_LIBRARY_ARCHITECTURE})
find_library(MM_SLEEF_LIBRARY sleef)
if(NOT (MM_SLEEF_INCLUDE_DIR AND MM_SLEEF_LIBRARY))
  message(FATAL_ERROR "mm: SLEEF not found (sleef.h: '${MM_SLEEF_INCLUDE_DIR}', libsleef: '${MM_SLEEF_LIBRARY}'); "
                      "run scripts/setup-deps.sh (Debian package libsleef-dev)")
endif()
add_library(mm_sleef INTERFACE)
target_include_directories(mm_sleef SYSTEM INTERFACE ${MM_SLEEF_INCLUDE_DIR})
target_link_libraries(mm_sleef INTERFACE ${MM_SLEEF_LIBRARY})
