# Question: seed 002, 2a: a tracer reads the state out and writes exactly the
#   same thing back; the task resumes on the CPU it started on.
# The tracer uses PTRACE_PEEKUSER / PTRACE_POKEUSER on fs, fs_base, gs,
#   gs_base, in the order of struct user_regs_struct (bases first, as
#   PTRACE_SETREGS does), then in the other order.
# Answer: under fsgs=linux: the tracer reads what the task had (fs 0x63,
#   fs_base 0x200000000 -- x86_fsbase_read_task() returns the saved base when
#   FSGSBASE is on) and writing it back changes nothing: ptrace writes of a
#   base set only the base (v5.9+), of a selector only the selector. The
#   order does not matter.
#   Under fsgs=lutomirski2016: the tracer reads the same values ("report
#   the state as it actually was"), but on resume the nonzero selector reloads
#   the base from its descriptor: FS comes back with 0x7000 in either order.
#   (The switch alone does that too: question 1a.)
# Explicit ordering cases follow: a selector and a new base written in both
#   orders give the same result under each policy. A pre-5.9 kernel (run with
#   --policy mutant=fsgs-ptrace-selector) zeroed the selector on a base write,
#   so "selector then base" loses the selector: the fsgs check catches it.
# Run both:
#   xstate run examples/fsgs-q2a-ptrace-same-cpu.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-q2a-ptrace-same-cpu.xs
machine cpu=intel-icelake-sp cpus=1
thread t1
thread t2

t1 set_thread_area -1 0x7000
t1 mov fs = 0x63
t1 wrfsbase 0x200000000
t1 wrgsbase 0x300000000
switch cpu0 to t2                # t1 stops (a tracee is switched out)
expect peek t1 fs == 0x63
expect peek t1 fs_base == 0x200000000
expect peek t1 gs == 0
expect peek t1 gs_base == 0x300000000
ptrace-regs t1 base-first        # read all four, write them back: bases first
ptrace-regs t1 selector-first    # and selectors first
switch cpu0 to t1
expect seg t1 fs == 0x63
expect seg t1 fsbase == 0x200000000 if fsgs=linux
expect seg t1 fsbase == 0x7000 if fsgs=lutomirski2016
expect seg t1 gsbase == 0x300000000

# Ordering: base then selector.
switch cpu0 to t2
pokeuser t1 fs_base = 0x400000000
pokeuser t1 fs = 0x63
expect result t1 == 0
switch cpu0 to t1
expect seg t1 fs == 0x63
expect seg t1 fsbase == 0x400000000 if fsgs=linux
expect seg t1 fsbase == 0x7000 if fsgs=lutomirski2016

# Ordering: selector then base.
switch cpu0 to t2
pokeuser t1 fs = 0x63
pokeuser t1 fs_base = 0x500000000
switch cpu0 to t1
expect seg t1 fs == 0x63
expect seg t1 fsbase == 0x500000000 if fsgs=linux
expect seg t1 fsbase == 0x7000 if fsgs=lutomirski2016

# Errors: a base at TASK_SIZE_MAX and a selector with RPL 1 are refused (-EIO)
# and change nothing.
switch cpu0 to t2
pokeuser t1 gs_base = 0x7ffffffff000
expect result t1 == EIO
pokeuser t1 gs = 0x61
expect result t1 == EIO
expect peek t1 gs_base == 0x300000000
