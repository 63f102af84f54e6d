#include "fiber.h"

#include "sanitizers.h"

namespace mm::simt {

namespace bc = boost::context::detail;

Fiber::~Fiber() { retire(); }

void Fiber::retire() {
  if (tsan_fiber_) san::tsan_destroy_fiber(tsan_fiber_);
  tsan_fiber_ = nullptr;
}

void Fiber::start(Stack stack, Entry entry, void* arg) {
  retire();
  stack_ = stack;
  entry_ = entry;
  arg_ = arg;
  tsan_fiber_ = san::tsan_create_fiber();
  tsan_caller_ = san::tsan_current_fiber();
  ctx_ = bc::make_fcontext(stack.top(), stack.size, &Fiber::trampoline);
}

void Fiber::trampoline(bc::transfer_t t) {
  Fiber* self = static_cast<Fiber*>(t.data);
  san::asan_finish_switch(nullptr, &self->caller_stack_bottom_, &self->caller_stack_size_);
  self->caller_ = t.fctx;
  self->entry_(self->arg_);
  self->finish();
}

bool Fiber::resume() {
  san::asan_start_switch(&asan_caller_fake_stack_, stack_.base, stack_.size);
  san::tsan_switch_to(tsan_fiber_);
  bc::transfer_t t = bc::jump_fcontext(ctx_, this);
  san::asan_finish_switch(asan_caller_fake_stack_, nullptr, nullptr);
  ctx_ = t.fctx;
  return t.data != nullptr;  // suspend() passes the fiber, finish() passes nullptr
}

void Fiber::suspend() {
  // Read everything this side needs before the TSan switch: after it, TSan attributes accesses to
  // the scheduler (see docs/simt.md).
  bc::fcontext_t to = caller_;
  void* tsan_to = tsan_caller_;
  san::asan_start_switch(&asan_fake_stack_, caller_stack_bottom_, caller_stack_size_);
  san::tsan_switch_to(tsan_to);
  bc::transfer_t t = bc::jump_fcontext(to, this);
  san::asan_finish_switch(asan_fake_stack_, &caller_stack_bottom_, &caller_stack_size_);
  caller_ = t.fctx;
}

void Fiber::finish() {
  bc::fcontext_t to = caller_;
  void* tsan_to = tsan_caller_;
  san::asan_start_switch(nullptr, caller_stack_bottom_, caller_stack_size_);  // nullptr: fiber dies
  san::tsan_switch_to(tsan_to);
  bc::jump_fcontext(to, nullptr);
  __builtin_unreachable();
}

}  // namespace mm::simt
