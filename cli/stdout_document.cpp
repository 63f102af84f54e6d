#include "cli/stdout_document.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "core/error.h"

namespace mm::cli {

StdoutDocument::StdoutDocument(bool active) {
  if (!active) return;
  std::fflush(stdout);
  // Above the standard descriptors: with standard error closed, dup() would hand back 2 itself.
  saved_fd_ = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (saved_fd_ < 0) throw Error(std::string("cannot set standard output aside for the document: ") + std::strerror(errno));
  // The rest goes to standard error, or nowhere when it is closed: never into the document.
  int to = STDERR_FILENO;
  if (::fcntl(STDERR_FILENO, F_GETFD) < 0) to = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (to < 0 || ::dup2(to, STDOUT_FILENO) < 0)
    throw Error(std::string("cannot set standard output aside for the document: ") + std::strerror(errno));
  if (to != STDERR_FILENO) ::close(to);
}

StdoutDocument::~StdoutDocument() {
  if (saved_fd_ < 0) return;
  std::fflush(stdout);
  ::dup2(saved_fd_, STDOUT_FILENO);
  ::close(saved_fd_);
}

void StdoutDocument::write(const std::string& text) {
  std::fflush(stdout);
  const int fd = saved_fd_ >= 0 ? saved_fd_ : STDOUT_FILENO;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(std::string("standard output: cannot write the document: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace mm::cli
