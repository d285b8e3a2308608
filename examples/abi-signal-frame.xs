# Question: what does a signal frame hold on an AVX-512 machine, and what
#   does the handler start with?
# Answer: the XSAVE image (standard format, 64-byte aligned below the red
#   zone) of every user component, written by XSAVE straight from the
#   registers; the software-reserved bytes (magic1 "FPXS", extended_size =
#   2696 + 4, xfeatures = the task's user features, xstate_size 2696);
#   MAGIC2 "FPXE" after the image; XSTATE_BV with FP|SSE always set and
#   PKRU marked in use with the task's own PKRU value. The handler starts
#   with every user component in its init state and PKRU = 0x55555554.
#   The handler changes registers; sigreturn brings the frame's values back.
machine cpu=intel-skylake-sp cpus=1
thread t1 on cpu0

t1 write xmm0 = 0x00112233445566778899aabbccddeeff
t1 write ymm9 = fill:0x99
t1 write zmm30 = seq:0x30
t1 write k5 = 0x5555
t1 ldmxcsr 0x1fa0
t1 wrpkru 0x12345678
t1 signal SIGUSR1
expect in-handler t1 == 1
expect frame t1 magic1 == 0x46505853
expect frame t1 extended_size == 2700
expect frame t1 xstate_size == 2696
expect frame t1 sw_xfeatures == x87|sse|avx|bndregs|bndcsr|opmask|zmm_hi256|hi16_zmm|pkru
expect frame t1 magic2 == 0x46505845
expect frame t1 xstate_bv & x87|sse|pkru == x87|sse|pkru
expect frame t1 xcomp_bv == 0
expect frame t1 hdr.16 == 0
expect frame t1 xmm0 == 0x00112233445566778899aabbccddeeff
expect frame t1 ymm9 == fill:0x99
expect frame t1 zmm30 == seq:0x30
expect frame t1 k5 == 0x5555
expect frame t1 mxcsr == 0x1fa0
expect frame t1 pkru == 0x12345678
expect frame t1 uc.flags == 7
expect frame t1 uc.signo == 10
# The handler's registers.
expect t1 xmm0 == zero
expect t1 zmm30 == zero
expect t1 mxcsr == 0x1f80
expect t1 pkru == 0x55555554
t1 write xmm0 = fill:0xee
t1 write zmm30 = fill:0xee
t1 sigreturn
expect t1 xmm0 == 0x00112233445566778899aabbccddeeff
expect t1 ymm9 == fill:0x99
expect t1 zmm30 == seq:0x30
expect t1 mxcsr == 0x1fa0
expect t1 pkru == 0x12345678
