# Question: PKRU is not XRSTORed with the task state, yet signal frames and
#   ptrace must carry it. What does each path do with it?
# Answer: (Linux) delivery writes the interrupted PKRU into the frame (its
#   XSTATE_BV bit set) and starts the handler with init_pkru; sigreturn
#   restores it from the frame by XRSTOR -- a frame whose XSTATE_BV.PKRU is
#   clear loads 0 (every key open). NT_X86_XSTATE reports thread.pkru (the
#   buffer's PKRU slot may be stale); a write with the PKRU bit clear sets
#   PKRU to 0 (Kyle Huey's fix), with it set to the image's value.
machine cpu=intel-icelake-sp cpus=1
thread t on cpu0
thread u

t wrpkru 0xc
t signal SIGUSR1
expect frame t pkru == 0xc
expect frame t xstate_bv & pkru == pkru
expect t pkru == 0x55555554        # the handler runs with init_pkru
t sigreturn
expect t pkru == 0xc

t signal SIGUSR1
t frame flip xstate_bv 9           # the frame says PKRU is in its init state
t sigreturn
expect t pkru == 0x0

# ptrace: the stopped tracee's thread.pkru.
t wrpkru 0x30
switch cpu0 to u
ptrace t get xstate
expect regset t pkru == 0x30
ptrace t poke pkru = 0x300
ptrace t set xstate
switch cpu0 to t
expect t pkru == 0x300
switch cpu0 to u
ptrace t get xstate
ptrace t flip xstate_bv 9          # PKRU bit clear in the written header
ptrace t set xstate
expect thread-pkru t == 0x0
switch cpu0 to t
expect t pkru == 0x0
