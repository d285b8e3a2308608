# Question: seed 002, 1a: what happens when a task switches out and back in
#   on the same CPU?
# The task's FS holds a nonzero selector (0x63: its TLS descriptor, base
#   0x7000) and, written with WRFSBASE afterwards, another base
#   (0x200000000). GS holds selector 0 and base 0x300000000.
# Answer: under fsgs=linux (the default; Linux since v5.9 with FSGSBASE):
#   exactly the state it left -- FS 0x63 with base 0x200000000, GS 0 with
#   0x300000000. save_fsgs() reads both selectors and both bases,
#   x86_fsgsbase_load() reloads a nonzero selector and then always writes
#   the saved base: selector and base are preserved independently.
#   Under fsgs=lutomirski2016 (the proposal of seed 002): the nonzero
#   selector wins -- FS comes back as 0x63 with its descriptor's base 0x7000;
#   GS (selector 0) keeps 0x300000000.
# Run both:
#   xstate run examples/fsgs-q1a-same-cpu.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-q1a-same-cpu.xs
machine cpu=intel-icelake-sp cpus=1
thread t1
thread t2

t1 set_thread_area -1 0x7000     # the first free TLS slot: 12, selector 0x63
expect result t1 == 0
t1 mov fs = 0x63
expect seg t1 fsbase == 0x7000   # a selector load takes the descriptor's base
t1 wrfsbase 0x200000000          # user code sets another base (FSGSBASE)
t1 wrgsbase 0x300000000
switch cpu0 to t2
t2 wrfsbase 0x1234000            # the other task uses FS too
switch cpu0 to t1
expect seg t1 fs == 0x63
expect seg t1 fsbase == 0x200000000 if fsgs=linux
expect seg t1 fsbase == 0x7000 if fsgs=lutomirski2016
expect seg t1 gs == 0
expect seg t1 gsbase == 0x300000000
t1 rdfsbase                      # the task's own read agrees (checked against its shadow)
