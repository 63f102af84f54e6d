# Compiles SRC for sm_80 and sm_90a with --resource-usage and writes ptxas' report to OUT.
# Usage: cmake -DNVCC=... -DSRC=... -DINCLUDE=... -DOUT=... -P ptxas_report.cmake
execute_process(
  COMMAND ${NVCC} -std=c++17 -O3 -I${INCLUDE} --resource-usage
          -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90a,code=sm_90a
          -c ${SRC} -o ${OUT}.o
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(WRITE ${OUT} "${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nvcc failed (${rc}):\n${out}${err}")
endif()
