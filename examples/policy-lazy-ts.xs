# Question: under the pre-2016 lazy policy (restore=lazy: CR0.TS and #NM),
#   when is a task's state restored, and what does the CPU hold meanwhile?
# Answer: the switch sets CR0.TS instead of restoring; the new task's first
#   FPU instruction raises #NM and the handler clears TS and restores, then
#   the instruction re-executes. Until then the previous task's values stay
#   in the registers behind the trap -- the LazyFP (CVE-2018-3665)
#   precondition, why Linux restores eagerly. Compare with the same steps
#   under the default policy (restore=eager): no #NM, the restore happens on
#   the return to user. The policy is Linux's eagerfpu=off: MPX (and AMX,
#   APX) instructions ignore CR0.TS, so no trap could protect their
#   registers; the kernel leaves them out of XCR0 (the boot line says so)
#   and a BNDMOV is a NOP.
machine cpu=intel-skylake-client cpus=1 restore=lazy
thread t1 on cpu0
thread t2 on cpu0

t1 write ymm4 = fill:0xa1
switch cpu0 to t2
return cpu0
expect ts cpu0 == 1
expect regs cpu0 avx == t1       # t1's value, readable only after #NM
counters reset
t2 write ymm4 = fill:0xb2
expect fault t2 == #NM
expect nm cpu0 == 1
expect restores cpu0 == 1
expect ts cpu0 == 0
expect t2 ymm4 == fill:0xb2
switch cpu0 to t1
t1 read ymm4
expect fault t1 == #NM
expect t1 ymm4 == fill:0xa1
t1 write bnd0 = fill:0xc3        # MPX not enabled: executes as a NOP
expect t1 bnd0 == zero
expect xinuse cpu0 & bndregs|bndcsr == 0
