# Question: what does Linux do with FS/GS bases on a CPU without FSGSBASE
#   (or booted with nofsgsbase), where user code cannot read or write the
#   bases itself?
# Answer: under fsgs=linux (the legacy paths, save_base_legacy and
#   load_seg_legacy): RDFSBASE/WRFSBASE raise #UD (SIGILL); bases come from
#   ARCH_SET_FS/GS or descriptors. A selector >= 4 is reloaded at every
#   switch-in, so its base is the descriptor's; a selector 0 gets the saved
#   base back with WRMSR. The kernel never reads the base back for selector
#   0 (no RDMSR on the hot path), so a task that loads a null selector
#   (Intel clears the base) gets its old ARCH_SET_FS base again after the
#   next switch: the stale value FSGSBASE-era Linux no longer has.
#   Under fsgs=lutomirski2016 ("save the base as it actually was", RDMSR
#   here): the null load's base 0 is what comes back.
# Run both:
#   xstate run examples/fsgs-legacy-nofsgsbase.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-legacy-nofsgsbase.xs
machine cpu=intel-icelake-sp cpus=1 fsgsbase=off
thread t1
thread t2

t1 wrfsbase 0x200000000          # CR4.FSGSBASE is clear
expect signal t1 == SIGILL
t1 arch_prctl SET_FS 0x200000000
expect errno t1 == 0
expect seg t1 fsbase == 0x200000000
t1 set_thread_area -1 0x7000
t1 mov gs = 0x63
switch cpu0 to t2
switch cpu0 to t1
expect seg t1 gs == 0x63
expect seg t1 gsbase == 0x7000    # reloaded from the descriptor
expect seg t1 fsbase == 0x200000000  # selector 0: the saved base by WRMSR
t1 arch_prctl GET_FS
expect value t1 == 0x200000000

t1 mov fs = 0                    # a null load: the base is cleared (Intel)
expect seg t1 fsbase == 0
switch cpu0 to t2
switch cpu0 to t1
expect seg t1 fsbase == 0x200000000 if fsgs=linux
expect seg t1 fsbase == 0 if fsgs=lutomirski2016
