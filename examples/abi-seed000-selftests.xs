# Question: (seed 000) do the correct states -- and nothing else -- show up
#   in ptrace and signal frames, and is writing supervisor state (CET) via
#   ptrace or sigreturn rejected?
# Answer: on Sapphire Rapids the kernel manages PASID and CET_U (supervisor,
#   XSAVES) next to the user state. Neither the frame nor NT_X86_XSTATE
#   carries a supervisor bit: their xfeatures are the task's user features
#   and XSTATE_BV is masked with them. A ptrace write naming CET_U is
#   refused with EINVAL and changes nothing; a frame whose XSTATE_BV names
#   it makes XRSTOR #GP (the bit is not in XCR0): SIGSEGV. A frame whose sw
#   xfeatures name it is harmless: the XRSTOR mask is ANDed with the task's
#   user features. The user values do show up, at their standard offsets.
machine cpu=intel-sapphire-rapids cpus=2
thread t1 on cpu0
t1 write ymm5 = fill:0x55
t1 write k7 = 0x7777

t1 signal SIGUSR1
expect frame t1 sw_xfeatures & pasid|cet_u|cet_s == 0
expect frame t1 xstate_bv & pasid|cet_u|cet_s == 0
expect frame t1 ymm5 == fill:0x55
expect frame t1 k7 == 0x7777
t1 frame flip xstate_bv 11
t1 sigreturn
expect signal t1 == SIGSEGV
expect errno t1 == EFAULT

# The failed sigreturn reset the user state (Linux): set it again.
t1 write ymm5 = fill:0x56
t1 write k7 = 0x7777
t1 signal SIGUSR1
t1 frame flip sw_xfeatures 11
t1 sigreturn
expect errno t1 == 0
expect t1 ymm5 == fill:0x56

ptrace t1 get xstate
expect errno t1 == 0
expect regset t1 xstate_bv & pasid|cet_u|cet_s == 0
expect regset t1 u64.464 == x87|sse|avx|opmask|zmm_hi256|hi16_zmm|pkru|xtilecfg|xtiledata
expect regset t1 ymm5 == fill:0x56
ptrace t1 flip xstate_bv 11
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip xstate_bv 11
ptrace t1 flip xstate_bv 10
ptrace t1 set xstate
expect errno t1 == EINVAL
switch cpu0 to t1
expect t1 ymm5 == fill:0x56
expect t1 k7 == 0x7777
