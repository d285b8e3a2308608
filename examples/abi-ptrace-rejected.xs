# Question: which ptrace writes does the kernel refuse, with which error,
#   and what do they change?
# Answer: (xstateregs_set, xfpregs_set, copy_uabi_to_xstate) NT_X86_XSTATE
#   needs exactly user.max_size bytes (EFAULT otherwise); its header may only
#   name the tracee's user features (a supervisor bit, AMX before the
#   tracee's first use: EINVAL), XCOMP_BV and the 48 reserved bytes must be
#   zero, MXCSR's reserved bits must be clear when FP, SSE or YMM is written
#   (EINVAL). NT_PRFPREG needs exactly 512 bytes and a valid MXCSR (EINVAL).
#   iov_len must be a multiple of 8 (EINVAL) and is clamped to the regset
#   size. A refused write changes nothing: the registers keep their values.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0
t1 write ymm6 = fill:0x66

ptrace t1 get xstate
ptrace t1 set xstate len=11000
expect errno t1 == EFAULT
ptrace t1 set xstate len=11004
expect errno t1 == EINVAL
ptrace t1 set xstate len=11016
expect errno t1 == 0
ptrace t1 flip xstate_bv 11
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip xstate_bv 11
ptrace t1 flip xstate_bv 18
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip xstate_bv 18
ptrace t1 flip xstate_bv 62
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip xstate_bv 62
ptrace t1 flip xcomp_bv 0
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip xcomp_bv 0
ptrace t1 flip xcomp_bv 63
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip xcomp_bv 63
ptrace t1 flip hdr.16 0
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip hdr.16 0
ptrace t1 flip hdr.63 7
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip hdr.63 7
ptrace t1 flip mxcsr 16
ptrace t1 set xstate
expect errno t1 == EINVAL
ptrace t1 flip mxcsr 16
ptrace t1 poke ymm6 = fill:0x67
ptrace t1 set xstate
expect errno t1 == 0

ptrace t1 get fpregs
ptrace t1 set fpregs len=504
expect errno t1 == EINVAL
ptrace t1 flip mxcsr 16
ptrace t1 set fpregs
expect errno t1 == EINVAL
switch cpu0 to t1
expect t1 ymm6 == fill:0x67
