# Warnings for our own targets (not for dependencies).
function(mm_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
