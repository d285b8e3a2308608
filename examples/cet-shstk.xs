# Question: (seed 000: user CET is "supervisor state that affects user
#   mode") user code moves its shadow stack pointer by itself (CALL/RET).
#   Where does the value survive a context switch or a migration, how does
#   a debugger see it, and what do fork, clone and exec do with it?
# Answer: in the task's xstate buffer. CET_U (IA32_U_CET, IA32_PL3_SSP) is a
#   supervisor component of every task buffer: XSAVES at switch-out, XRSTORS
#   before user mode, like the FPU. NT_X86_SHSTK reads and writes only
#   user_ssp, refuses values at or above TASK_SIZE_MAX or not 8-byte aligned
#   (-EINVAL) and does not exist while the shadow stack is off (-ENODEV). A
#   new thread gets a shadow stack of its own; fork keeps the parent's (the
#   copied mm has it at the same address); exec turns it off.
machine cpu=intel-sapphire-rapids cpus=2
thread a on cpu0
thread b on cpu1
thread z                           # never runs: a stopped tracee

expect class cet_u == supervisor-affects-user
expect config default & cet_u == cet_u
expect shstk-regset z == ENODEV    # the regset exists only with SHSTK on
expect shstk-regset b == ESRCH     # ptrace needs a stopped tracee
a shstk wrss fails EPERM           # WRSS needs SHSTK first
a shstk enable
expect hw cpu0 u_cet == 0x1        # SH_STK_EN
expect ssp a == top
a call 5
expect ssp a == top-40
b shstk enable
b call 2

# a migrates to cpu1 (b is switched out there) and back: its SSP travels in
# its buffer.
migrate a to cpu1
expect ssp a == top-40
a ret 2
migrate a to cpu0
expect ssp a == top-24
switch cpu1 to b
expect ssp b == top-16

# A tracer reads and writes the stopped task's SSP.
switch cpu0 to idle
expect shstk-regset a == top-24
shstk-regset a set 0x10003 fails EINVAL            # not 8-byte aligned
shstk-regset a set 0x800000000000 fails EINVAL     # >= TASK_SIZE_MAX
shstk-regset a set top-64
switch cpu0 to a
expect ssp a == top-64
expect hw cpu0 u_cet == 0x1        # only user_ssp was written

# CET_U is never writable through NT_X86_XSTATE or a signal frame (see
# also abi-seed000-selftests.xs): the live shadow stack survives both.
switch cpu0 to idle
ptrace a get xstate
expect regset a xstate_bv & cet_u == 0   # not even reported
ptrace a flip xstate_bv 11
ptrace a set xstate
expect errno a == EINVAL
switch cpu0 to a
a signal SIGUSR1
expect frame a xstate_bv & cet_u == 0
a frame flip xstate_bv 11
a sigreturn
expect signal a == SIGSEGV               # XRSTOR #GP: bit 11 is not in XCR0
expect ssp a == top-64
expect hw cpu0 u_cet == 0x1

# clone: a new shadow stack; fork: the same one (copied mm).
clone a as t
fork a as f
expect shstk-regset t != top-64
expect shstk-regset f == top-64    # the parent's SSP, in the same (copied) stack
switch cpu1 to t
expect ssp t == top                # the thread starts at its own stack's top
exit t
switch cpu1 to f
expect ssp f == top-64
exit f
exec a
expect ssp a == 0                  # RDSSP is a NOP again
expect hw cpu0 u_cet == 0
switch cpu0 to idle
expect shstk-regset a == ENODEV
