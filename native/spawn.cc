// Child processes for the io_uring backend's subprocesses (src/uring/child.ts): plain
// syscalls, not ring ops. Contract: src/addon.ts, NativeChildren. Each function returns
// >= 0 or -errno and never throws. The exit is watched through the ring (ops/waitid.cc, or
// POLL_ADD on the pidfd followed by wait() where the kernel lacks IORING_OP_WAITID).
//
// spawn(file, argv, env, cwd, stdio: Int32Array(3), out: Int32Array(5)) -> 0 | -errno
//   file    a path (it has a '/'), or a name looked up the way execvp does in the PATH of
//           `env` (default "/usr/bin:/bin"): the first regular file we may execute; EACCES
//           when only files we may not execute were found, else ENOENT. Looked up in the
//           parent with stat + access: a failed exec in a forked child would cost a spawn per
//           PATH entry.
//   argv    argv[0..]; env: "NAME=value" strings (the whole environment); cwd: string | null
//   stdio   per child fd 0..2: an fd of ours (dup2'ed), STDIO_PIPE (see Pipes), STDIO_STDOUT (fd 2 only:
//           the child's fd 1), STDIO_DEVNULL (/dev/null), STDIO_INHERIT (left as it is)
//   out     [pid, pidfd, our stdin write end, our stdout read end, our stderr read end]
//           (-1 where that fd is not a pipe)
// How: clone(CLONE_VM | CLONE_VFORK) and our own child steps (cloneExec, childMain): fds
// 0..2, every other fd closed (only 0..2 reach the child, whatever the flags of our other fds:
// asyncio's close_fds), chdir(cwd), every signal's disposition back to default and an empty
// mask (Node ignores SIGPIPE; a child must not inherit that, as libuv and Python's
// restore_signals see to), execve.
// Then pidfd_open (kernel 5.3): the exit is watched and the child is signalled and reaped
// through the pidfd only, so pid reuse cannot hit another process and libuv's SIGCHLD
// handler (which waits for its own pids only) and we never reap each other's children.
// Pipes: a connected pair of Unix stream sockets (socketpair, CLOEXEC), as libuv makes a
// child's stdio pipes: measured on this machine, 1 GiB through cat cost 0.45 s of kernel CPU
// over a socket pair against 0.67 s over pipe(2) (perf/cat-ref.c, CAT_REF_SOCKETPAIR), the
// kernel's per-page pipe buffer allocation and the one lock reader and writer share being
// the difference (perf/RESULTS.md, subprocess-bench notes). Our end gets O_NONBLOCK, the
// child's end stays blocking; the pipe transports work on either kind.
// A source fd below 3 meant for another child fd is first duplicated to >= 3 in the parent,
// so no dup2 of the file actions overwrites a source a later one reads.
// Owns: nothing after it returns. Every fd made for the child is closed on every path; the
// caller owns the pidfd and our pipe ends. A child whose pidfd cannot be opened is killed
// and reaped before the error returns (no zombie).
//
// signal(pidfd, sig) -> 0 | -errno          pidfd_send_signal (kernel 5.1)
// wait(pidfd, out: Int32Array(1)) -> 1 | 0 | -errno
//   waitid(P_PIDFD, WEXITED | WNOHANG): 1 = reaped, out[0] = the returncode (exit status,
//   or -signal number, as asyncio reports it); 0 = still running.
// reap(pidfd, timeoutMs, out) -> as wait(), after waiting up to timeoutMs for the exit
//   (poll on the pidfd): the proactor's close, after SIGKILL, so no zombie is left behind.
#include "spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "file_stat.h"
#include "ring_args.h"

namespace ringloop {

namespace {

// Mirrored in src/addon.ts (STDIO_*).
constexpr int kStdioPipe = -1;
constexpr int kStdioStdout = -2;
constexpr int kStdioDevnull = -3;
constexpr int kStdioInherit = -4;

bool stringsOf(Napi::Value v, std::vector<std::string>* out) {
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) return false;
    out->push_back(s.As<Napi::String>().Utf8Value());
  }
  return true;
}

int32_t* int32sOf(Napi::Value v, size_t n) {
  if (!v.IsTypedArray()) return nullptr;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array || ta.ElementLength() < n) return nullptr;
  return ta.As<Napi::Int32Array>().Data();
}

// execvp's lookup (see the header).
int resolveProgram(const std::string& file, const std::vector<std::string>& env, std::string* path) {
  if (file.empty()) return -ENOENT;
  if (file.find('/') != std::string::npos) {
    *path = file;
    return 0;
  }
  std::string dirs = "/usr/bin:/bin";
  for (const std::string& e : env) {
    if (e.compare(0, 5, "PATH=") == 0) dirs = e.substr(5);
  }
  bool denied = false;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + file;
    struct statx st;
    int err = statxPath(candidate.c_str(), &st);
    if (err == 0) {
      if (S_ISREG(st.stx_mode) && access(candidate.c_str(), X_OK) == 0) {
        *path = candidate;
        return 0;
      }
      denied = true;  // execve: EACCES for a directory or a file without execute permission
    } else if (err == -EACCES) {
      denied = true;
    }
    start = end + 1;
  }
  return denied ? -EACCES : -ENOENT;
}

std::vector<char*> cStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

// The fds one spawn made: the child's ends and duplicates (closed once the child has them)
// and our pipe ends (closed too unless the spawn succeeded).
struct SpawnFds {
  std::vector<int> childSide;
  int ours[3] = {-1, -1, -1};
  bool keepOurs = false;
  ~SpawnFds() {
    for (int fd : childSide) close(fd);
    if (!keepOurs) {
      for (int fd : ours) {
        if (fd >= 0) close(fd);
      }
    }
  }
};

// The source fd each child fd 0..2 is dup2'ed from (or the STDIO_* code it keeps), making
// pipes and moving sources below 3 out of the way (see the header).
int planStdio(const int32_t* stdio, SpawnFds* fds, int source[3]) {
  for (int t = 0; t < 3; ++t) {
    int s = stdio[t];
    if (s == kStdioPipe) {
      int p[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) return -errno;
      int mine = p[0];
      int theirs = p[1];
      fds->ours[t] = mine;
      fds->childSide.push_back(theirs);
      if (fcntl(mine, F_SETFL, O_NONBLOCK) < 0) return -errno;
      s = theirs;
    } else if (s < kStdioInherit || (s == kStdioStdout && t != 2)) {
      return -EINVAL;
    }
    if (s >= 0 && s < 3 && s != t) {
      int d = fcntl(s, F_DUPFD_CLOEXEC, 3);
      if (d < 0) return -errno;
      fds->childSide.push_back(d);
      s = d;
    }
    source[t] = s;
  }
  return 0;
}

// What the child does between clone and execve. It shares our memory (CLONE_VM) and runs
// while the calling thread is suspended (CLONE_VFORK), on its own stack, with every signal
// blocked: it may only make syscalls (no malloc, no locks) and report through `error`.
struct ChildPlan {
  const char* path;
  char* const* argv;
  char* const* envp;
  const int* source;      // per child fd 0..2, see planStdio
  const char* cwd;        // or null
  int maxFd;              // RLIMIT_NOFILE, for the close loop where close_range is missing
  volatile int error;     // errno of the step that failed; 0 while all goes well
};

[[noreturn]] void childFail(ChildPlan* plan) {
  plan->error = errno != 0 ? errno : EINVAL;
  _exit(127);
}

// In the child, in this order: every signal's disposition back to default (Node ignores
// SIGPIPE and handles others: a handler of ours must never run here), fds 0..2, every other
// fd closed (asyncio's close_fds: close_range, kernel 5.9, else one close per fd), chdir,
// then an empty signal mask and execve.
int childMain(void* arg) {
  ChildPlan* plan = static_cast<ChildPlan*>(arg);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);  // glibc's own: EINVAL
  }
  for (int t = 0; t < 3; ++t) {
    int s = plan->source[t];
    if (s == t) {
      if (fcntl(t, F_SETFD, 0) < 0) childFail(plan);  // the same fd: only FD_CLOEXEC to clear
    } else if (s >= 0) {
      if (dup2(s, t) < 0) childFail(plan);
    } else if (s == kStdioDevnull) {
      int fd = open("/dev/null", t == 0 ? O_RDONLY : O_WRONLY);
      if (fd < 0) childFail(plan);
      if (fd != t && (dup2(fd, t) < 0 || close(fd) < 0)) childFail(plan);
    } else if (s == kStdioStdout) {
      if (dup2(1, 2) < 0) childFail(plan);
    }
  }
  if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
    for (int fd = 3; fd < plan->maxFd; ++fd) close(fd);
  }
  if (plan->cwd != nullptr && chdir(plan->cwd) < 0) childFail(plan);
  sigset_t none;
  sigemptyset(&none);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(unsigned long));
  execve(plan->path, plan->argv, plan->envp);
  childFail(plan);
}

// clone(CLONE_VM | CLONE_VFORK), as glibc's posix_spawn does, so the cost does not grow with
// our memory. Not posix_spawn itself: its closefrom and chdir file actions are GLIBC_2.34 and
// 2.29 symbols, and the prebuilt addons must load on glibc 2.26. 0 and *pid, or -errno (the
// child's, when the exec failed; that child is reaped here).
int cloneExec(ChildPlan* plan, pid_t* pid) {
  constexpr size_t kStack = 64 * 1024;
  void* stack = mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return -errno;
  sigset_t all, old;  // raw rt_sigprocmask: pthread_sigmask is a GLIBC_2.32 symbol
  sigfillset(&all);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(unsigned long));
  plan->error = 0;
  pid_t child = clone(childMain, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, plan);
  int err = child < 0 ? errno : 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof(unsigned long));
  munmap(stack, kStack);
  if (child < 0) return -err;
  if (plan->error != 0) {  // the child has exited (CLONE_VFORK returns at its exec or exit)
    while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    return -plan->error;
  }
  *pid = child;
  return 0;
}

Napi::Value jsSpawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> argv, envv;
  int32_t* stdio = info.Length() > 4 ? int32sOf(info[4], 3) : nullptr;
  int32_t* out = info.Length() > 5 ? int32sOf(info[5], 5) : nullptr;
  if (info.Length() < 6 || !info[0].IsString() || !stringsOf(info[1], &argv) || argv.empty() ||
      !stringsOf(info[2], &envv) || !(info[3].IsString() || info[3].IsNull()) || !stdio || !out) {
    return Napi::Number::New(env, -EINVAL);
  }
  std::string file = info[0].As<Napi::String>().Utf8Value();
  std::string cwd = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : std::string();
  std::string path;
  int r = resolveProgram(file, envv, &path);
  if (r < 0) return Napi::Number::New(env, r);

  SpawnFds fds;
  int source[3];
  r = planStdio(stdio, &fds, source);
  if (r < 0) return Napi::Number::New(env, r);
  std::vector<char*> argvp = cStrings(argv);
  std::vector<char*> envp = cStrings(envv);
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  ChildPlan plan{path.c_str(), argvp.data(), envp.data(), source, info[3].IsString() ? cwd.c_str() : nullptr,
                 nofile.rlim_cur == RLIM_INFINITY || nofile.rlim_cur > (1 << 20) ? (1 << 20) : int(nofile.rlim_cur), 0};
  pid_t pid = -1;
  r = cloneExec(&plan, &pid);
  if (r < 0) return Napi::Number::New(env, r);

  int pidfd = int(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int err = -errno;
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return Napi::Number::New(env, err);
  }
  fds.keepOurs = true;
  out[0] = pid;
  out[1] = pidfd;
  for (int t = 0; t < 3; ++t) out[2 + t] = fds.ours[t];
  return Napi::Number::New(env, 0);
}

Napi::Value jsSignal(const Napi::CallbackInfo& info) {
  long r = syscall(SYS_pidfd_send_signal, intArg(info, 0), intArg(info, 1), nullptr, 0);
  return Napi::Number::New(info.Env(), r < 0 ? -errno : 0);
}

// waitid(P_PIDFD, WNOHANG) -> 1 (out[0] = returncode) | 0 | -errno
int waitNow(int pidfd, int32_t* out) {
  siginfo_t si{};
  int r;
  do {
    r = waitid(P_PIDFD, id_t(pidfd), &si, WEXITED | WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (si.si_pid == 0) return 0;
  out[0] = returncodeOf(si);
  return 1;
}

Napi::Value jsWait(const Napi::CallbackInfo& info) {
  int32_t* out = info.Length() > 1 ? int32sOf(info[1], 1) : nullptr;
  if (!out) return Napi::Number::New(info.Env(), -EINVAL);
  return Napi::Number::New(info.Env(), waitNow(intArg(info, 0), out));
}

int64_t nowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Waits up to timeoutMs for the child of `pidfd` to exit (poll: the pidfd polls readable then).
void waitForExit(int pidfd, int timeoutMs) {
  int64_t deadline = nowMs() + timeoutMs;
  pollfd p{pidfd, POLLIN, 0};
  for (int64_t left = timeoutMs; left >= 0; left = deadline - nowMs()) {
    int r = poll(&p, 1, int(left));
    if (r >= 0 || errno != EINTR) break;
  }
}

Napi::Value jsReap(const Napi::CallbackInfo& info) {
  int pidfd = intArg(info, 0);
  int timeoutMs = intArg(info, 1);
  int32_t* out = info.Length() > 2 ? int32sOf(info[2], 1) : nullptr;
  if (!out || timeoutMs < 0) return Napi::Number::New(info.Env(), -EINVAL);
  waitForExit(pidfd, timeoutMs);
  return Napi::Number::New(info.Env(), waitNow(pidfd, out));
}

}  // namespace

int returncodeOf(const siginfo_t& si) {
  return si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
}

void killAndReap(int pidfd) {
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  waitForExit(pidfd, kReapOnCloseMs);
  int32_t status;
  waitNow(pidfd, &status);
}

Napi::Object childFunctions(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("spawn", Napi::Function::New<jsSpawn>(env, "spawn"));
  o.Set("signal", Napi::Function::New<jsSignal>(env, "signal"));
  o.Set("wait", Napi::Function::New<jsWait>(env, "wait"));
  o.Set("reap", Napi::Function::New<jsReap>(env, "reap"));
  return o;
}

}  // namespace ringloop
