#include "stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sanitizers.h"

namespace mm::simt {
namespace {

constexpr uint64_t kCanary = 0x5eed'cafe'f00d'beefULL;

size_t page_size() {
  static const size_t ps = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return ps;
}

}  // namespace

StackPool::~StackPool() {
  for (const Stack& s : all_) munmap(s.base - page_size(), s.size + page_size());
}

Stack StackPool::acquire(size_t bytes) {
  const size_t ps = page_size();
  bytes = (bytes + ps - 1) / ps * ps;
  for (size_t i = 0; i < free_.size() && !san::tsan; ++i) {
    if (free_[i].size == bytes) {
      Stack s = free_[i];
      free_[i] = free_.back();
      free_.pop_back();
      san::asan_unpoison(s.base, s.size);
      return s;
    }
  }
  void* p = mmap(nullptr, bytes + ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "simt: cannot map a %zu-byte fiber stack\n", bytes);
    std::abort();
  }
  mprotect(p, ps, PROT_NONE);  // guard page: an overflow faults instead of corrupting a neighbour
  Stack s{static_cast<char*>(p) + ps, bytes};
  std::memcpy(s.base, &kCanary, sizeof kCanary);
  all_.push_back(s);
  return s;
}

void StackPool::release(Stack s) {
  uint64_t c;
  std::memcpy(&c, s.base, sizeof c);
  if (c != kCanary) {
    std::fprintf(stderr, "simt: fiber stack canary overwritten (stack overflow); raise "
                         "LaunchOptions::stack_bytes or shrink per-thread arrays\n");
    std::abort();
  }
  if (san::tsan) {
    // TSan cannot be told that a stack changed owner; unmapping resets its shadow, so the next
    // fiber does not appear to race with the last one.
    munmap(s.base - page_size(), s.size + page_size());
    for (size_t i = 0; i < all_.size(); ++i)
      if (all_[i].base == s.base) {
        all_[i] = all_.back();
        all_.pop_back();
        break;
      }
    return;
  }
  free_.push_back(s);
}

}  // namespace mm::simt
