// Fiber stacks: mmap'd, each with a PROT_NONE guard page below it and a canary word just above the
// guard, pooled (one pool per OS thread that runs blocks) so that a launch maps them once.
#pragma once
#include <cstddef>
#include <vector>

namespace mm::simt {

struct Stack {
  char* base = nullptr;  // lowest usable byte; the guard page is just below it
  size_t size = 0;       // usable bytes; the stack grows down from base + size
  char* top() const { return base + size; }
};

class StackPool {
 public:
  StackPool() = default;
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;
  ~StackPool();
  // A stack of at least `bytes` usable bytes (rounded up to whole pages).
  Stack acquire(size_t bytes);
  // Returns a stack; aborts if its canary was overwritten (an overflow that jumped the guard page).
  void release(Stack s);

 private:
  std::vector<Stack> free_;
  std::vector<Stack> all_;
};

}  // namespace mm::simt
