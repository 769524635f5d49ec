	.file	"TVMMod"
	.section	.rodata.cst16,"aM",@progbits,16
	.p2align	4, 0x0
.LCPI0_0:
	.quad	128
	.quad	1
.LCPI0_1:
	.quad	4
	.quad	1
.LCPI0_2:
	.quad	768
	.quad	1
	.text
	.globl	__tvm_ffi_main
	.p2align	4
	.type	__tvm_ffi_main,@function
__tvm_ffi_main:
.Lfunc_begin0:
	.file	1 "." "IRModule.CodeGenLLVM"
	.loc	1 0 0
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	pushq	%r15
	.cfi_def_cfa_offset 24
	pushq	%r14
	.cfi_def_cfa_offset 32
	pushq	%r13
	.cfi_def_cfa_offset 40
	pushq	%r12
	.cfi_def_cfa_offset 48
	pushq	%rbx
	.cfi_def_cfa_offset 56
	subq	$184, %rsp
	.cfi_def_cfa_offset 240
	.cfi_offset %rbx, -56
	.cfi_offset %r12, -48
	.cfi_offset %r13, -40
	.cfi_offset %r14, -32
	.cfi_offset %r15, -24
	.cfi_offset %rbp, -16
	cmpl	$11, %edx
	jne	.LBB0_210
.Ltmp0:
	testq	%rsi, %rsi
	je	.LBB0_211
.Ltmp1:
	movl	(%rsi), %eax
.Ltmp2:
	cmpl	$63, %eax
	jle	.LBB0_7
.Ltmp3:
	cmpl	$70, %eax
	jne	.LBB0_9
.Ltmp4:
	movq	8(%rsi), %r8
	addq	$24, %r8
.Ltmp5:
	movl	16(%rsi), %eax
.Ltmp6:
	cmpl	$63, %eax
	jg	.LBB0_10
.Ltmp7:
.LBB0_5:
	cmpl	$7, %eax
	ja	.LBB0_199
.Ltmp8:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_14
	jmp	.LBB0_199
.Ltmp9:
.LBB0_7:
	cmpl	$7, %eax
	ja	.LBB0_198
.Ltmp10:
	movl	$145, %ecx
.Ltmp11:
	btl	%eax, %ecx
	jae	.LBB0_198
.Ltmp12:
.LBB0_9:
	movq	8(%rsi), %r8
.Ltmp13:
	movl	16(%rsi), %eax
.Ltmp14:
	cmpl	$63, %eax
	jle	.LBB0_5
.Ltmp15:
.LBB0_10:
	cmpl	$70, %eax
	jne	.LBB0_14
.Ltmp16:
	movq	24(%rsi), %r9
	addq	$24, %r9
.Ltmp17:
	movl	32(%rsi), %eax
.Ltmp18:
	cmpl	$63, %eax
	jg	.LBB0_15
.Ltmp19:
.LBB0_12:
	cmpl	$7, %eax
	ja	.LBB0_200
.Ltmp20:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_19
	jmp	.LBB0_200
.Ltmp21:
.LBB0_14:
	movq	24(%rsi), %r9
.Ltmp22:
	movl	32(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_12
.Ltmp23:
.LBB0_15:
	cmpl	$70, %eax
	jne	.LBB0_19
.Ltmp24:
	movq	40(%rsi), %rax
	addq	$24, %rax
.Ltmp25:
	movq	%rax, 24(%rsp)
	movl	48(%rsi), %eax
.Ltmp26:
	cmpl	$63, %eax
	jg	.LBB0_20
.Ltmp27:
.LBB0_17:
	cmpl	$7, %eax
	ja	.LBB0_201
.Ltmp28:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_24
	jmp	.LBB0_201
.Ltmp29:
.LBB0_19:
	movq	40(%rsi), %rax
.Ltmp30:
	movq	%rax, 24(%rsp)
	movl	48(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_17
.Ltmp31:
.LBB0_20:
	cmpl	$70, %eax
	jne	.LBB0_24
.Ltmp32:
	movq	56(%rsi), %r11
	addq	$24, %r11
.Ltmp33:
	movl	64(%rsi), %eax
.Ltmp34:
	cmpl	$63, %eax
	jg	.LBB0_25
.Ltmp35:
.LBB0_22:
	cmpl	$7, %eax
	ja	.LBB0_202
.Ltmp36:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_29
	jmp	.LBB0_202
.Ltmp37:
.LBB0_24:
	movq	56(%rsi), %r11
.Ltmp38:
	movl	64(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_22
.Ltmp39:
.LBB0_25:
	cmpl	$70, %eax
	jne	.LBB0_29
.Ltmp40:
	movq	72(%rsi), %rbx
	addq	$24, %rbx
.Ltmp41:
	movl	80(%rsi), %eax
.Ltmp42:
	cmpl	$63, %eax
	jg	.LBB0_30
.Ltmp43:
.LBB0_27:
	cmpl	$7, %eax
	ja	.LBB0_203
.Ltmp44:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_34
	jmp	.LBB0_203
.Ltmp45:
.LBB0_29:
	movq	72(%rsi), %rbx
.Ltmp46:
	movl	80(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_27
.Ltmp47:
.LBB0_30:
	cmpl	$70, %eax
	jne	.LBB0_34
.Ltmp48:
	movq	88(%rsi), %r12
	addq	$24, %r12
.Ltmp49:
	movl	96(%rsi), %eax
.Ltmp50:
	cmpl	$63, %eax
	jg	.LBB0_35
.Ltmp51:
.LBB0_32:
	cmpl	$7, %eax
	ja	.LBB0_204
.Ltmp52:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_39
	jmp	.LBB0_204
.Ltmp53:
.LBB0_34:
	movq	88(%rsi), %r12
.Ltmp54:
	movl	96(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_32
.Ltmp55:
.LBB0_35:
	cmpl	$70, %eax
	jne	.LBB0_39
.Ltmp56:
	movq	104(%rsi), %r10
	addq	$24, %r10
.Ltmp57:
	movl	112(%rsi), %eax
.Ltmp58:
	cmpl	$63, %eax
	jg	.LBB0_40
.Ltmp59:
.LBB0_37:
	cmpl	$7, %eax
	ja	.LBB0_205
.Ltmp60:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_44
	jmp	.LBB0_205
.Ltmp61:
.LBB0_39:
	movq	104(%rsi), %r10
.Ltmp62:
	movl	112(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_37
.Ltmp63:
.LBB0_40:
	cmpl	$70, %eax
	jne	.LBB0_44
.Ltmp64:
	movq	120(%rsi), %rdi
.Ltmp65:
	addq	$24, %rdi
.Ltmp66:
	movl	128(%rsi), %eax
.Ltmp67:
	cmpl	$63, %eax
	jg	.LBB0_45
.Ltmp68:
.LBB0_42:
	cmpl	$7, %eax
	ja	.LBB0_206
.Ltmp69:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_49
	jmp	.LBB0_206
.Ltmp70:
.LBB0_44:
	movq	120(%rsi), %rdi
.Ltmp71:
	movl	128(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_42
.Ltmp72:
.LBB0_45:
	cmpl	$70, %eax
	jne	.LBB0_49
.Ltmp73:
	movq	136(%rsi), %rbp
	addq	$24, %rbp
.Ltmp74:
	movl	144(%rsi), %eax
.Ltmp75:
	cmpl	$63, %eax
	jg	.LBB0_50
.Ltmp76:
.LBB0_47:
	cmpl	$7, %eax
	ja	.LBB0_207
.Ltmp77:
	movl	$145, %ecx
	btl	%eax, %ecx
	jb	.LBB0_54
	jmp	.LBB0_207
.Ltmp78:
.LBB0_49:
	movq	136(%rsi), %rbp
.Ltmp79:
	movl	144(%rsi), %eax
	cmpl	$63, %eax
	jle	.LBB0_47
.Ltmp80:
.LBB0_50:
	cmpl	$70, %eax
	jne	.LBB0_54
.Ltmp81:
	movq	152(%rsi), %rax
	addq	$24, %rax
.Ltmp82:
	movl	160(%rsi), %ecx
.Ltmp83:
	cmpl	$63, %ecx
	jg	.LBB0_55
.Ltmp84:
.LBB0_52:
	cmpl	$7, %ecx
	ja	.LBB0_208
.Ltmp85:
	movl	$145, %edx
.Ltmp86:
	btl	%ecx, %edx
	jb	.LBB0_57
	jmp	.LBB0_208
.Ltmp87:
.LBB0_54:
	movq	152(%rsi), %rax
.Ltmp88:
	movl	160(%rsi), %ecx
	cmpl	$63, %ecx
	jle	.LBB0_52
.Ltmp89:
.LBB0_55:
	cmpl	$70, %ecx
	jne	.LBB0_57
.Ltmp90:
	movq	168(%rsi), %r13
	addq	$24, %r13
	jmp	.LBB0_58
.Ltmp91:
.LBB0_57:
	movq	168(%rsi), %r13
.Ltmp92:
.LBB0_58:
	movq	24(%rsp), %rdx
	testq	%r8, %r8
	je	.LBB0_198
.Ltmp93:
	cmpl	$2, 16(%r8)
	jne	.LBB0_212
.Ltmp94:
	cmpw	$1, 22(%r8)
	jne	.LBB0_213
.Ltmp95:
	cmpb	$8, 21(%r8)
	jne	.LBB0_213
.Ltmp96:
	cmpb	$1, 20(%r8)
	jne	.LBB0_213
.Ltmp97:
	cmpl	$1, 8(%r8)
	jne	.LBB0_214
.Ltmp98:
	testq	%r9, %r9
	je	.LBB0_199
.Ltmp99:
	cmpl	$1, 16(%r9)
	jne	.LBB0_215
.Ltmp100:
	cmpw	$1, 22(%r9)
	jne	.LBB0_216
.Ltmp101:
	cmpb	$32, 21(%r9)
	jne	.LBB0_216
.Ltmp102:
	cmpb	$2, 20(%r9)
	jne	.LBB0_216
.Ltmp103:
	cmpl	$1, 8(%r9)
	jne	.LBB0_217
.Ltmp104:
	testq	%rdx, %rdx
	je	.LBB0_200
.Ltmp105:
	cmpl	$1, 16(%rdx)
	jne	.LBB0_218
.Ltmp106:
	cmpw	$1, 22(%rdx)
	jne	.LBB0_219
.Ltmp107:
	cmpb	$32, 21(%rdx)
	jne	.LBB0_219
.Ltmp108:
	cmpb	$0, 20(%rdx)
	jne	.LBB0_219
.Ltmp109:
	cmpl	$1, 8(%rdx)
	jne	.LBB0_220
.Ltmp110:
	testq	%r11, %r11
	je	.LBB0_201
.Ltmp111:
	cmpl	$3, 16(%r11)
	jne	.LBB0_221
.Ltmp112:
	cmpw	$1, 22(%r11)
	jne	.LBB0_223
.Ltmp113:
	cmpb	$8, 21(%r11)
	jne	.LBB0_223
.Ltmp114:
	cmpb	$0, 20(%r11)
	jne	.LBB0_223
.Ltmp115:
	cmpl	$1, 8(%r11)
	jne	.LBB0_224
.Ltmp116:
	testq	%rbx, %rbx
	je	.LBB0_202
.Ltmp117:
	cmpl	$2, 16(%rbx)
	jne	.LBB0_225
.Ltmp118:
	cmpw	$1, 22(%rbx)
	jne	.LBB0_226
.Ltmp119:
	cmpb	$32, 21(%rbx)
	jne	.LBB0_226
.Ltmp120:
	cmpb	$0, 20(%rbx)
	jne	.LBB0_226
.Ltmp121:
	cmpl	$1, 8(%rbx)
	jne	.LBB0_227
.Ltmp122:
	testq	%r12, %r12
	je	.LBB0_203
.Ltmp123:
	cmpl	$2, 16(%r12)
	jne	.LBB0_228
.Ltmp124:
	cmpw	$1, 22(%r12)
	jne	.LBB0_229
.Ltmp125:
	cmpb	$32, 21(%r12)
	jne	.LBB0_229
.Ltmp126:
	cmpb	$0, 20(%r12)
	jne	.LBB0_229
.Ltmp127:
	cmpl	$1, 8(%r12)
	jne	.LBB0_230
.Ltmp128:
	testq	%r10, %r10
	je	.LBB0_204
.Ltmp129:
	cmpl	$1, 16(%r10)
	jne	.LBB0_231
.Ltmp130:
	cmpw	$1, 22(%r10)
	jne	.LBB0_232
.Ltmp131:
	cmpb	$32, 21(%r10)
	jne	.LBB0_232
.Ltmp132:
	cmpb	$0, 20(%r10)
	jne	.LBB0_232
.Ltmp133:
	cmpl	$1, 8(%r10)
	jne	.LBB0_233
.Ltmp134:
	testq	%rdi, %rdi
	je	.LBB0_205
.Ltmp135:
	cmpl	$1, 16(%rdi)
	jne	.LBB0_234
.Ltmp136:
	cmpw	$1, 22(%rdi)
	jne	.LBB0_235
.Ltmp137:
	cmpb	$32, 21(%rdi)
	jne	.LBB0_235
.Ltmp138:
	cmpb	$2, 20(%rdi)
	jne	.LBB0_235
.Ltmp139:
	cmpl	$1, 8(%rdi)
	jne	.LBB0_236
.Ltmp140:
	testq	%rbp, %rbp
	je	.LBB0_206
.Ltmp141:
	cmpl	$1, 16(%rbp)
	jne	.LBB0_237
.Ltmp142:
	cmpw	$1, 22(%rbp)
	jne	.LBB0_238
.Ltmp143:
	cmpb	$32, 21(%rbp)
	jne	.LBB0_238
.Ltmp144:
	cmpb	$0, 20(%rbp)
	jne	.LBB0_238
.Ltmp145:
	cmpl	$1, 8(%rbp)
	jne	.LBB0_239
.Ltmp146:
	testq	%rax, %rax
	je	.LBB0_207
.Ltmp147:
	cmpl	$1, 16(%rax)
	jne	.LBB0_240
.Ltmp148:
	cmpw	$1, 22(%rax)
	jne	.LBB0_241
.Ltmp149:
	cmpb	$32, 21(%rax)
	jne	.LBB0_241
.Ltmp150:
	cmpb	$2, 20(%rax)
	jne	.LBB0_241
.Ltmp151:
	cmpl	$1, 8(%rax)
	jne	.LBB0_242
.Ltmp152:
	testq	%r13, %r13
	je	.LBB0_208
.Ltmp153:
	cmpl	$2, 16(%r13)
	jne	.LBB0_243
.Ltmp154:
	cmpw	$1, 22(%r13)
	jne	.LBB0_244
.Ltmp155:
	cmpb	$32, 21(%r13)
	jne	.LBB0_244
.Ltmp156:
	cmpb	$2, 20(%r13)
	jne	.LBB0_244
.Ltmp157:
	cmpl	$1, 8(%r13)
	movq	%r10, 32(%rsp)
	jne	.LBB0_245
.Ltmp158:
	movq	24(%r8), %rcx
.Ltmp159:
	movq	32(%r8), %r14
.Ltmp160:
	movq	%r8, %r15
	movl	12(%r8), %r10d
.Ltmp161:
	movq	24(%rdx), %r8
.Ltmp162:
	movq	24(%r9), %rsi
.Ltmp163:
	movq	%r11, 56(%rsp)
	movq	%rbx, 48(%rsp)
	movq	%r12, 64(%rsp)
	movq	%r8, 152(%rsp)
	movq	24(%r11), %r8
.Ltmp164:
	movq	%rsi, 160(%rsp)
	movq	32(%rdx), %rsi
.Ltmp165:
	movq	32(%rbx), %rdx
.Ltmp166:
	movq	%rcx, 176(%rsp)
	movq	32(%r9), %rcx
.Ltmp167:
	movq	%r8, 144(%rsp)
	movq	32(%r11), %r8
.Ltmp168:
	movq	24(%rbx), %r11
.Ltmp169:
	movq	32(%rsp), %rbx
	movq	%r11, 136(%rsp)
	movq	24(%r12), %r11
.Ltmp170:
	movq	%r11, 128(%rsp)
	movq	32(%r12), %r11
.Ltmp171:
	movq	24(%rbx), %r12
.Ltmp172:
	movq	32(%rbx), %rbx
.Ltmp173:
	movq	%r12, 120(%rsp)
	movq	24(%rdi), %r12
.Ltmp174:
	movq	%r12, 112(%rsp)
	movq	32(%rdi), %r12
.Ltmp175:
	movq	%r12, (%rsp)
	movq	24(%rbp), %r12
.Ltmp176:
	movq	%r12, 104(%rsp)
	movq	32(%rbp), %r12
.Ltmp177:
	movq	%r12, 16(%rsp)
	movq	24(%rax), %r12
.Ltmp178:
	movq	%r12, 96(%rsp)
	movq	32(%rax), %r12
.Ltmp179:
	movq	%r12, 8(%rsp)
	movq	24(%r13), %r12
.Ltmp180:
	movq	%r12, 88(%rsp)
	movq	32(%r13), %r12
.Ltmp181:
	movq	%r12, 168(%rsp)
	testq	%r14, %r14
	je	.LBB0_126
.Ltmp182:
	vpxor	%xmm0, %xmm0, %xmm0
	vpblendd	$5, (%r14), %xmm0, %xmm0
	vpxor	.LCPI0_0(%rip), %xmm0, %xmm0
	vptest	%xmm0, %xmm0
	jne	.LBB0_246
.Ltmp183:
.LBB0_126:
	movq	%r15, %r14
.Ltmp184:
	movq	(%r15), %r15
	movq	%r15, 80(%rsp)
	testq	%r15, %r15
	je	.LBB0_247
.Ltmp185:
	movq	%r9, %r15
	testq	%rcx, %rcx
	je	.LBB0_129
.Ltmp186:
	cmpl	$1, (%rcx)
	jne	.LBB0_248
.Ltmp187:
.LBB0_129:
	movq	%rdi, 40(%rsp)
	cmpl	12(%r15), %r10d
	jne	.LBB0_249
.Ltmp188:
	movq	(%r15), %rdi
	testq	%rdi, %rdi
	je	.LBB0_250
.Ltmp189:
	testq	%rsi, %rsi
	je	.LBB0_133
.Ltmp190:
	cmpl	$1, (%rsi)
	jne	.LBB0_251
.Ltmp191:
.LBB0_133:
	movq	24(%rsp), %r12
	cmpl	12(%r12), %r10d
	jne	.LBB0_252
.Ltmp192:
	movq	(%r12), %rsi
.Ltmp193:
	testq	%rsi, %rsi
	je	.LBB0_253
.Ltmp194:
	testq	%r8, %r8
	je	.LBB0_138
.Ltmp195:
	vpxor	%xmm0, %xmm0, %xmm0
	vpblendd	$5, 8(%r8), %xmm0, %xmm0
	vpxor	.LCPI0_1(%rip), %xmm0, %xmm0
	vptest	%xmm0, %xmm0
	sete	%cl
.Ltmp196:
	cmpl	$16, (%r8)
	jne	.LBB0_255
.Ltmp197:
	testb	%cl, %cl
	je	.LBB0_255
.Ltmp198:
.LBB0_138:
	movq	56(%rsp), %rcx
	cmpl	12(%rcx), %r10d
	jne	.LBB0_254
.Ltmp199:
	movq	(%rcx), %r9
	testq	%r9, %r9
	je	.LBB0_256
.Ltmp200:
	testq	%rdx, %rdx
	je	.LBB0_142
.Ltmp201:
	vpxor	%xmm0, %xmm0, %xmm0
	vpblendd	$5, (%rdx), %xmm0, %xmm0
	vpxor	.LCPI0_1(%rip), %xmm0, %xmm0
	vptest	%xmm0, %xmm0
	jne	.LBB0_257
.Ltmp202:
.LBB0_142:
	movq	48(%rsp), %rcx
	cmpl	12(%rcx), %r10d
	jne	.LBB0_258
.Ltmp203:
	cmpq	$0, (%rcx)
	movq	16(%rsp), %rdx
.Ltmp204:
	je	.LBB0_259
.Ltmp205:
	testq	%r11, %r11
	je	.LBB0_146
.Ltmp206:
	vpxor	%xmm0, %xmm0, %xmm0
	vpblendd	$5, (%r11), %xmm0, %xmm0
	vpxor	.LCPI0_1(%rip), %xmm0, %xmm0
	vptest	%xmm0, %xmm0
	jne	.LBB0_260
.Ltmp207:
.LBB0_146:
	movq	64(%rsp), %rcx
	cmpl	12(%rcx), %r10d
	jne	.LBB0_261
.Ltmp208:
	movq	(%rcx), %r8
.Ltmp209:
	movq	8(%rsp), %r11
.Ltmp210:
	testq	%r8, %r8
	je	.LBB0_262
.Ltmp211:
	testq	%rbx, %rbx
	je	.LBB0_150
.Ltmp212:
	cmpl	$1, (%rbx)
	jne	.LBB0_263
.Ltmp213:
.LBB0_150:
	movq	32(%rsp), %rcx
	cmpl	12(%rcx), %r10d
	jne	.LBB0_264
.Ltmp214:
	movq	(%rcx), %rbx
.Ltmp215:
	testq	%rbx, %rbx
	je	.LBB0_265
.Ltmp216:
	movq	(%rsp), %rcx
	testq	%rcx, %rcx
	je	.LBB0_154
.Ltmp217:
	cmpl	$1, (%rcx)
	jne	.LBB0_266
.Ltmp218:
.LBB0_154:
	movq	40(%rsp), %rcx
	movq	%r9, (%rsp)
.Ltmp219:
	movq	%rsi, 72(%rsp)
	cmpl	12(%rcx), %r10d
	jne	.LBB0_267
.Ltmp220:
	movq	(%rcx), %r9
	movq	64(%rsp), %rsi
	testq	%r9, %r9
	je	.LBB0_268
.Ltmp221:
	movq	176(%rsp), %rcx
	testq	%rdx, %rdx
	je	.LBB0_158
.Ltmp222:
	cmpl	$1, (%rdx)
	jne	.LBB0_269
.Ltmp223:
.LBB0_158:
	cmpl	12(%rbp), %r10d
	jne	.LBB0_270
.Ltmp224:
	movq	%r14, %rdx
	movq	(%rbp), %r14
	movq	%r14, 16(%rsp)
.Ltmp225:
	testq	%r14, %r14
	je	.LBB0_271
.Ltmp226:
	testq	%r11, %r11
	je	.LBB0_162
.Ltmp227:
	cmpl	$1, (%r11)
	jne	.LBB0_272
.Ltmp228:
.LBB0_162:
	movq	%r8, 8(%rsp)
.Ltmp229:
	cmpl	12(%rax), %r10d
	jne	.LBB0_273
.Ltmp230:
	movq	(%rax), %r11
.Ltmp231:
	movq	168(%rsp), %r8
	testq	%r11, %r11
	je	.LBB0_274
.Ltmp232:
	testq	%r8, %r8
	je	.LBB0_166
.Ltmp233:
	vpxor	%xmm0, %xmm0, %xmm0
	vpblendd	$5, (%r8), %xmm0, %xmm0
	vpxor	.LCPI0_2(%rip), %xmm0, %xmm0
	vptest	%xmm0, %xmm0
	jne	.LBB0_275
.Ltmp234:
.LBB0_166:
	cmpl	12(%r13), %r10d
	jne	.LBB0_277
.Ltmp235:
	movq	%rbx, %r8
	movq	(%r13), %rbx
	testq	%rbx, %rbx
	je	.LBB0_278
.Ltmp236:
	cmpl	$768, (%rcx)
	jne	.LBB0_282
.Ltmp237:
	cmpl	$128, 8(%rcx)
	jne	.LBB0_283
.Ltmp238:
	cmpq	$0, 40(%rdx)
	jne	.LBB0_285
.Ltmp239:
	movq	160(%rsp), %rcx
	cmpl	$128, (%rcx)
	jne	.LBB0_286
.Ltmp240:
	cmpq	$0, 40(%r15)
	jne	.LBB0_287
.Ltmp241:
	movq	152(%rsp), %rcx
	cmpl	$128, (%rcx)
	jne	.LBB0_290
.Ltmp242:
	cmpq	$0, 40(%r12)
	jne	.LBB0_291
.Ltmp243:
	movq	144(%rsp), %rcx
	cmpl	$3758, (%rcx)
	jne	.LBB0_293
.Ltmp244:
	cmpl	$4, 8(%rcx)
	jne	.LBB0_294
.Ltmp245:
	cmpl	$4, 16(%rcx)
	jne	.LBB0_295
.Ltmp246:
	movq	56(%rsp), %rcx
	cmpq	$0, 40(%rcx)
	jne	.LBB0_296
.Ltmp247:
	movq	136(%rsp), %rcx
	cmpl	$3758, (%rcx)
	jne	.LBB0_298
.Ltmp248:
	cmpl	$4, 8(%rcx)
	jne	.LBB0_299
.Ltmp249:
	movq	48(%rsp), %rcx
	cmpq	$0, 40(%rcx)
	jne	.LBB0_303
.Ltmp250:
	movq	128(%rsp), %rcx
	cmpl	$3758, (%rcx)
	jne	.LBB0_305
.Ltmp251:
	cmpl	$4, 8(%rcx)
	jne	.LBB0_306
.Ltmp252:
	cmpq	$0, 40(%rsi)
	jne	.LBB0_307
.Ltmp253:
	movq	120(%rsp), %rcx
	cmpl	$193, (%rcx)
	jne	.LBB0_309
.Ltmp254:
	movq	32(%rsp), %rcx
	cmpq	$0, 40(%rcx)
	jne	.LBB0_310
.Ltmp255:
	movq	112(%rsp), %rcx
	cmpl	$768, (%rcx)
	jne	.LBB0_312
.Ltmp256:
	movq	40(%rsp), %rcx
	cmpq	$0, 40(%rcx)
	jne	.LBB0_313
.Ltmp257:
	movq	104(%rsp), %rcx
	cmpl	$768, (%rcx)
	jne	.LBB0_315
.Ltmp258:
	cmpq	$0, 40(%rbp)
	jne	.LBB0_316
.Ltmp259:
	movq	96(%rsp), %rcx
	cmpl	$768, (%rcx)
	jne	.LBB0_318
.Ltmp260:
	cmpq	$0, 40(%rax)
	jne	.LBB0_319
.Ltmp261:
	movq	88(%rsp), %rax
	cmpl	$128, (%rax)
	jne	.LBB0_321
.Ltmp262:
	cmpl	$768, 8(%rax)
	jne	.LBB0_322
.Ltmp263:
	cmpq	$0, 40(%r13)
	jne	.LBB0_323
.Ltmp264:
	subq	$8, %rsp
.Ltmp265:
	.cfi_adjust_cfa_offset 8
	movq	80(%rsp), %rsi
	movq	8(%rsp), %rdx
	movq	16(%rsp), %rcx
	pushq	88(%rsp)
	.cfi_adjust_cfa_offset 8
	pushq	%r10
	.cfi_adjust_cfa_offset 8
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	pushq	%r11
	.cfi_adjust_cfa_offset 8
	pushq	56(%rsp)
	.cfi_adjust_cfa_offset 8
	callq	main_compute_
.Ltmp266:
	addq	$232, %rsp
	.cfi_adjust_cfa_offset -232
.Ltmp267:
.LBB0_197:
	popq	%rbx
	.cfi_def_cfa_offset 48
	popq	%r12
	.cfi_def_cfa_offset 40
	popq	%r13
	.cfi_def_cfa_offset 32
	popq	%r14
	.cfi_def_cfa_offset 24
	popq	%r15
	.cfi_def_cfa_offset 16
	popq	%rbp
	.cfi_def_cfa_offset 8
	retq
.Ltmp268:
.LBB0_198:
	.cfi_def_cfa_offset 240
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.9(%rip), %rcx
	jmp	.LBB0_209
.Ltmp269:
.LBB0_199:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.12(%rip), %rcx
	jmp	.LBB0_209
.Ltmp270:
.LBB0_200:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.13(%rip), %rcx
	jmp	.LBB0_209
.Ltmp271:
.LBB0_201:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.14(%rip), %rcx
	jmp	.LBB0_209
.Ltmp272:
.LBB0_202:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.15(%rip), %rcx
	jmp	.LBB0_209
.Ltmp273:
.LBB0_203:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.16(%rip), %rcx
	jmp	.LBB0_209
.Ltmp274:
.LBB0_204:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.17(%rip), %rcx
	jmp	.LBB0_209
.Ltmp275:
.LBB0_205:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.18(%rip), %rcx
	jmp	.LBB0_209
.Ltmp276:
.LBB0_206:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.19(%rip), %rcx
	jmp	.LBB0_209
.Ltmp277:
.LBB0_207:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.20(%rip), %rcx
	jmp	.LBB0_209
.Ltmp278:
.LBB0_208:
	leaq	.L.str.11(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.8(%rip), %rdx
	leaq	.L.str.21(%rip), %rcx
.Ltmp279:
.LBB0_209:
	leaq	.L.str.4(%rip), %r8
	leaq	.L.str.5(%rip), %r9
	jmp	.LBB0_280
.Ltmp280:
.LBB0_210:
	leaq	.L.str.6(%rip), %rax
	leaq	.L.str.5(%rip), %r10
	leaq	.L.str(%rip), %rdi
.Ltmp281:
	leaq	.L.str.1(%rip), %rdx
.Ltmp282:
	leaq	.L.str.2(%rip), %rcx
.Ltmp283:
	leaq	.L.str.3(%rip), %r8
	jmp	.LBB0_279
.Ltmp284:
.LBB0_211:
	subq	$16, %rsp
	.cfi_adjust_cfa_offset 16
	vpxor	%xmm0, %xmm0, %xmm0
	vmovdqu	%xmm0, (%rsp)
	leaq	.L.str(%rip), %rdi
.Ltmp285:
	leaq	.L.str.7(%rip), %rdx
.Ltmp286:
	leaq	.L.str.4(%rip), %rcx
.Ltmp287:
	leaq	.L.str.5(%rip), %r8
	leaq	.L.str.6(%rip), %r9
	movl	$4, %esi
.Ltmp288:
	jmp	.LBB0_281
.Ltmp289:
.LBB0_212:
	.cfi_def_cfa_offset 240
	leaq	.L.str.13(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.24(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.9(%rip), %r9
	jmp	.LBB0_326
.Ltmp290:
.LBB0_213:
	leaq	.L.str.27(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.24(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.9(%rip), %r9
	jmp	.LBB0_326
.Ltmp291:
.LBB0_214:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.24(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.9(%rip), %r9
	jmp	.LBB0_326
.Ltmp292:
.LBB0_215:
	leaq	.L.str.12(%rip), %r9
	leaq	.L.str.10(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.30(%rip), %rcx
	jmp	.LBB0_222
.Ltmp293:
.LBB0_216:
	leaq	.L.str.31(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.30(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	jmp	.LBB0_289
.Ltmp294:
.LBB0_217:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.30(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	jmp	.LBB0_289
.Ltmp295:
.LBB0_218:
	leaq	.L.str.12(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.32(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.13(%rip), %r9
	jmp	.LBB0_326
.Ltmp296:
.LBB0_219:
	leaq	.L.str.33(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.32(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.13(%rip), %r9
	jmp	.LBB0_326
.Ltmp297:
.LBB0_220:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.32(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.13(%rip), %r9
	jmp	.LBB0_326
.Ltmp298:
.LBB0_221:
	leaq	.L.str.14(%rip), %r9
	leaq	.L.str.10(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.34(%rip), %rcx
.Ltmp299:
.LBB0_222:
	leaq	.L.str.25(%rip), %r8
	jmp	.LBB0_301
.Ltmp300:
.LBB0_223:
	leaq	.L.str.35(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.34(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.14(%rip), %r9
	jmp	.LBB0_326
.Ltmp301:
.LBB0_224:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.34(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.14(%rip), %r9
	jmp	.LBB0_326
.Ltmp302:
.LBB0_225:
	leaq	.L.str.13(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.36(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.15(%rip), %r9
	jmp	.LBB0_326
.Ltmp303:
.LBB0_226:
	leaq	.L.str.33(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.36(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.15(%rip), %r9
	jmp	.LBB0_326
.Ltmp304:
.LBB0_227:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.36(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.15(%rip), %r9
	jmp	.LBB0_326
.Ltmp305:
.LBB0_228:
	leaq	.L.str.13(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.37(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.16(%rip), %r9
	jmp	.LBB0_326
.Ltmp306:
.LBB0_229:
	leaq	.L.str.33(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.37(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.16(%rip), %r9
	jmp	.LBB0_326
.Ltmp307:
.LBB0_230:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.37(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.16(%rip), %r9
	jmp	.LBB0_326
.Ltmp308:
.LBB0_231:
	leaq	.L.str.12(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.38(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.17(%rip), %r9
	jmp	.LBB0_326
.Ltmp309:
.LBB0_232:
	leaq	.L.str.33(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.38(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.17(%rip), %r9
	jmp	.LBB0_326
.Ltmp310:
.LBB0_233:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.38(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.17(%rip), %r9
	jmp	.LBB0_326
.Ltmp311:
.LBB0_234:
	leaq	.L.str.12(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.39(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.18(%rip), %r9
	jmp	.LBB0_326
.Ltmp312:
.LBB0_235:
	leaq	.L.str.31(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.39(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.18(%rip), %r9
	jmp	.LBB0_326
.Ltmp313:
.LBB0_236:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.39(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.18(%rip), %r9
	jmp	.LBB0_326
.Ltmp314:
.LBB0_237:
	leaq	.L.str.12(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.40(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.19(%rip), %r9
	jmp	.LBB0_326
.Ltmp315:
.LBB0_238:
	leaq	.L.str.33(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.40(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.19(%rip), %r9
	jmp	.LBB0_326
.Ltmp316:
.LBB0_239:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.40(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.19(%rip), %r9
	jmp	.LBB0_326
.Ltmp317:
.LBB0_240:
	leaq	.L.str.12(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.41(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	leaq	.L.str.20(%rip), %r9
	jmp	.LBB0_326
.Ltmp318:
.LBB0_241:
	leaq	.L.str.31(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.41(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	leaq	.L.str.20(%rip), %r9
	jmp	.LBB0_326
.Ltmp319:
.LBB0_242:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.41(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	leaq	.L.str.20(%rip), %r9
	jmp	.LBB0_326
.Ltmp320:
.LBB0_243:
	leaq	.L.str.13(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.42(%rip), %rcx
	leaq	.L.str.25(%rip), %r8
	jmp	.LBB0_325
.Ltmp321:
.LBB0_244:
	leaq	.L.str.31(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.42(%rip), %rcx
	leaq	.L.str.26(%rip), %r8
	jmp	.LBB0_325
.Ltmp322:
.LBB0_245:
	leaq	.L.str.29(%rip), %rax
	leaq	.L.str.10(%rip), %r10
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.42(%rip), %rcx
	leaq	.L.str.28(%rip), %r8
	jmp	.LBB0_325
.Ltmp323:
.LBB0_246:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp324:
	leaq	.L.str.24(%rip), %rcx
.Ltmp325:
	leaq	.L.str.43(%rip), %r8
.Ltmp326:
	leaq	.L.str.9(%rip), %r9
	jmp	.LBB0_276
.Ltmp327:
.LBB0_247:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp328:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.24(%rip), %rdx
.Ltmp329:
	leaq	.L.str.45(%rip), %rcx
.Ltmp330:
	leaq	.L.str.9(%rip), %r8
.Ltmp331:
	jmp	.LBB0_279
.Ltmp332:
.LBB0_248:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp333:
	leaq	.L.str.30(%rip), %rcx
.Ltmp334:
	leaq	.L.str.43(%rip), %r8
.Ltmp335:
	leaq	.L.str.12(%rip), %r9
	jmp	.LBB0_276
.Ltmp336:
.LBB0_249:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp337:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp338:
	leaq	.L.str.47(%rip), %rcx
.Ltmp339:
	jmp	.LBB0_288
.Ltmp340:
.LBB0_250:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp341:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.30(%rip), %rdx
.Ltmp342:
	leaq	.L.str.45(%rip), %rcx
.Ltmp343:
	leaq	.L.str.12(%rip), %r8
.Ltmp344:
	jmp	.LBB0_279
.Ltmp345:
.LBB0_251:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp346:
	leaq	.L.str.32(%rip), %rcx
.Ltmp347:
	leaq	.L.str.43(%rip), %r8
.Ltmp348:
	leaq	.L.str.13(%rip), %r9
	jmp	.LBB0_276
.Ltmp349:
.LBB0_252:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp350:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp351:
	leaq	.L.str.51(%rip), %rcx
.Ltmp352:
	jmp	.LBB0_292
.Ltmp353:
.LBB0_253:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp354:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.32(%rip), %rdx
.Ltmp355:
	leaq	.L.str.45(%rip), %rcx
.Ltmp356:
	leaq	.L.str.13(%rip), %r8
.Ltmp357:
	jmp	.LBB0_279
.Ltmp358:
.LBB0_254:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp359:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp360:
	leaq	.L.str.52(%rip), %rcx
	jmp	.LBB0_297
.Ltmp361:
.LBB0_255:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp362:
	leaq	.L.str.34(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
.Ltmp363:
	leaq	.L.str.14(%rip), %r9
	jmp	.LBB0_276
.Ltmp364:
.LBB0_256:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp365:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.34(%rip), %rdx
.Ltmp366:
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.14(%rip), %r8
.Ltmp367:
	jmp	.LBB0_279
.Ltmp368:
.LBB0_257:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp369:
	leaq	.L.str.36(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
.Ltmp370:
	leaq	.L.str.15(%rip), %r9
	jmp	.LBB0_276
.Ltmp371:
.LBB0_258:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp372:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
.Ltmp373:
	leaq	.L.str.53(%rip), %rcx
	jmp	.LBB0_304
.Ltmp374:
.LBB0_259:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp375:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.36(%rip), %rdx
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.15(%rip), %r8
.Ltmp376:
	jmp	.LBB0_279
.Ltmp377:
.LBB0_260:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.37(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
.Ltmp378:
	leaq	.L.str.16(%rip), %r9
	jmp	.LBB0_276
.Ltmp379:
.LBB0_261:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp380:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.54(%rip), %rcx
	jmp	.LBB0_308
.Ltmp381:
.LBB0_262:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp382:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.37(%rip), %rdx
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.16(%rip), %r8
	jmp	.LBB0_279
.Ltmp383:
.LBB0_263:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.38(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
	leaq	.L.str.17(%rip), %r9
	jmp	.LBB0_276
.Ltmp384:
.LBB0_264:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp385:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.55(%rip), %rcx
	jmp	.LBB0_311
.Ltmp386:
.LBB0_265:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp387:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.38(%rip), %rdx
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.17(%rip), %r8
	jmp	.LBB0_279
.Ltmp388:
.LBB0_266:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.39(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
	leaq	.L.str.18(%rip), %r9
	jmp	.LBB0_276
.Ltmp389:
.LBB0_267:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp390:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.56(%rip), %rcx
	jmp	.LBB0_314
.Ltmp391:
.LBB0_268:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp392:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.39(%rip), %rdx
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.18(%rip), %r8
	jmp	.LBB0_279
.Ltmp393:
.LBB0_269:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.40(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
	leaq	.L.str.19(%rip), %r9
	jmp	.LBB0_276
.Ltmp394:
.LBB0_270:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp395:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.57(%rip), %rcx
	jmp	.LBB0_317
.Ltmp396:
.LBB0_271:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp397:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.40(%rip), %rdx
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.19(%rip), %r8
	jmp	.LBB0_279
.Ltmp398:
.LBB0_272:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.41(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
	leaq	.L.str.20(%rip), %r9
	jmp	.LBB0_276
.Ltmp399:
.LBB0_273:
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp400:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.58(%rip), %rcx
	jmp	.LBB0_320
.Ltmp401:
.LBB0_274:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp402:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.41(%rip), %rdx
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.20(%rip), %r8
	jmp	.LBB0_279
.Ltmp403:
.LBB0_275:
	leaq	.L.str.44(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.42(%rip), %rcx
	leaq	.L.str.43(%rip), %r8
	leaq	.L.str.21(%rip), %r9
.Ltmp404:
.LBB0_276:
	movl	$7, %esi
	pushq	$0
.Ltmp405:
	.cfi_adjust_cfa_offset 8
	jmp	.LBB0_302
.Ltmp406:
.LBB0_277:
	.cfi_def_cfa_offset 240
	leaq	.L.str.50(%rip), %rax
	leaq	.L.str.49(%rip), %r10
.Ltmp407:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.23(%rip), %rdx
	leaq	.L.str.59(%rip), %rcx
	jmp	.LBB0_324
.Ltmp408:
.LBB0_278:
	leaq	.L.str.46(%rip), %rax
	leaq	.L.str.5(%rip), %r10
.Ltmp409:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.42(%rip), %rdx
	leaq	.L.str.45(%rip), %rcx
	leaq	.L.str.21(%rip), %r8
.Ltmp410:
.LBB0_279:
	leaq	.L.str.4(%rip), %r9
.Ltmp411:
.LBB0_280:
	movl	$6, %esi
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	pushq	%r10
	.cfi_adjust_cfa_offset 8
.Ltmp412:
.LBB0_281:
	callq	__tvm_set_raised_6
	jmp	.LBB0_328
.Ltmp413:
.LBB0_282:
	.cfi_def_cfa_offset 240
	leaq	.L.str.62(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp414:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.61(%rip), %rcx
	jmp	.LBB0_284
.Ltmp415:
.LBB0_283:
	leaq	.L.str.64(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp416:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.63(%rip), %rcx
.Ltmp417:
.LBB0_284:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.9(%rip), %r9
	jmp	.LBB0_326
.Ltmp418:
.LBB0_285:
	leaq	.L.str.9(%rip), %r9
	leaq	.L.str.10(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.65(%rip), %rcx
	jmp	.LBB0_300
.Ltmp419:
.LBB0_286:
	leaq	.L.str.64(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp420:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.66(%rip), %rcx
	jmp	.LBB0_288
.Ltmp421:
.LBB0_287:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp422:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.67(%rip), %rcx
.Ltmp423:
.LBB0_288:
	leaq	.L.str.48(%rip), %r8
.Ltmp424:
.LBB0_289:
	leaq	.L.str.12(%rip), %r9
	jmp	.LBB0_326
.Ltmp425:
.LBB0_290:
	leaq	.L.str.64(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp426:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.68(%rip), %rcx
	jmp	.LBB0_292
.Ltmp427:
.LBB0_291:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp428:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.69(%rip), %rcx
.Ltmp429:
.LBB0_292:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.13(%rip), %r9
	jmp	.LBB0_326
.Ltmp430:
.LBB0_293:
	leaq	.L.str.71(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp431:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.70(%rip), %rcx
	jmp	.LBB0_297
.Ltmp432:
.LBB0_294:
	leaq	.L.str.15(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp433:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.72(%rip), %rcx
	jmp	.LBB0_297
.Ltmp434:
.LBB0_295:
	leaq	.L.str.15(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp435:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.73(%rip), %rcx
	jmp	.LBB0_297
.Ltmp436:
.LBB0_296:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp437:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.74(%rip), %rcx
.Ltmp438:
.LBB0_297:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.14(%rip), %r9
	jmp	.LBB0_326
.Ltmp439:
.LBB0_298:
	leaq	.L.str.71(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp440:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.75(%rip), %rcx
	jmp	.LBB0_304
.Ltmp441:
.LBB0_299:
	leaq	.L.str.15(%rip), %r9
	leaq	.L.str.10(%rip), %rax
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.76(%rip), %rcx
.Ltmp442:
.LBB0_300:
	leaq	.L.str.48(%rip), %r8
.Ltmp443:
.LBB0_301:
	movl	$8, %esi
	pushq	%r9
	.cfi_adjust_cfa_offset 8
.Ltmp444:
.LBB0_302:
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	jmp	.LBB0_327
.Ltmp445:
.LBB0_303:
	.cfi_def_cfa_offset 240
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp446:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.77(%rip), %rcx
.Ltmp447:
.LBB0_304:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.15(%rip), %r9
	jmp	.LBB0_326
.Ltmp448:
.LBB0_305:
	leaq	.L.str.71(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp449:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.78(%rip), %rcx
	jmp	.LBB0_308
.Ltmp450:
.LBB0_306:
	leaq	.L.str.15(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp451:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.79(%rip), %rcx
	jmp	.LBB0_308
.Ltmp452:
.LBB0_307:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp453:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.80(%rip), %rcx
.Ltmp454:
.LBB0_308:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.16(%rip), %r9
	jmp	.LBB0_326
.Ltmp455:
.LBB0_309:
	leaq	.L.str.82(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp456:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.81(%rip), %rcx
	jmp	.LBB0_311
.Ltmp457:
.LBB0_310:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp458:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.83(%rip), %rcx
.Ltmp459:
.LBB0_311:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.17(%rip), %r9
	jmp	.LBB0_326
.Ltmp460:
.LBB0_312:
	leaq	.L.str.62(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp461:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.84(%rip), %rcx
	jmp	.LBB0_314
.Ltmp462:
.LBB0_313:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp463:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.85(%rip), %rcx
.Ltmp464:
.LBB0_314:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.18(%rip), %r9
	jmp	.LBB0_326
.Ltmp465:
.LBB0_315:
	leaq	.L.str.62(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp466:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.86(%rip), %rcx
	jmp	.LBB0_317
.Ltmp467:
.LBB0_316:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp468:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.87(%rip), %rcx
.Ltmp469:
.LBB0_317:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.19(%rip), %r9
	jmp	.LBB0_326
.Ltmp470:
.LBB0_318:
	leaq	.L.str.62(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp471:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.88(%rip), %rcx
	jmp	.LBB0_320
.Ltmp472:
.LBB0_319:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp473:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.89(%rip), %rcx
.Ltmp474:
.LBB0_320:
	leaq	.L.str.48(%rip), %r8
	leaq	.L.str.20(%rip), %r9
	jmp	.LBB0_326
.Ltmp475:
.LBB0_321:
	leaq	.L.str.64(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp476:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.90(%rip), %rcx
	jmp	.LBB0_324
.Ltmp477:
.LBB0_322:
	leaq	.L.str.62(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp478:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.91(%rip), %rcx
	jmp	.LBB0_324
.Ltmp479:
.LBB0_323:
	leaq	.L.str.9(%rip), %rax
	leaq	.L.str.10(%rip), %r10
.Ltmp480:
	leaq	.L.str.22(%rip), %rdi
	leaq	.L.str.60(%rip), %rdx
	leaq	.L.str.92(%rip), %rcx
.Ltmp481:
.LBB0_324:
	leaq	.L.str.48(%rip), %r8
.Ltmp482:
.LBB0_325:
	leaq	.L.str.21(%rip), %r9
.Ltmp483:
.LBB0_326:
	movl	$8, %esi
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	pushq	%r10
	.cfi_adjust_cfa_offset 8
.Ltmp484:
.LBB0_327:
	callq	__tvm_set_raised_12
.Ltmp485:
.LBB0_328:
	addq	$16, %rsp
	.cfi_adjust_cfa_offset -16
	movl	$-1, %eax
	addq	$184, %rsp
	.cfi_def_cfa_offset 56
	jmp	.LBB0_197
.Ltmp486:
.Lfunc_end0:
	.size	__tvm_ffi_main, .Lfunc_end0-__tvm_ffi_main
	.cfi_endproc

	.p2align	4
	.type	__tvm_set_raised_6,@function
__tvm_set_raised_6:
.Lfunc_begin1:
	.cfi_startproc
	subq	$56, %rsp
	.cfi_def_cfa_offset 64
	vmovaps	64(%rsp), %xmm0
	movl	%esi, %eax
	leaq	8(%rsp), %rsi
	movq	%rdx, 8(%rsp)
	movq	%rcx, 16(%rsp)
	movq	%r8, 24(%rsp)
	movq	%r9, 32(%rsp)
	movl	%eax, %edx
	vmovups	%xmm0, 40(%rsp)
	callq	TVMFFIErrorSetRaisedFromCStrParts@PLT
	addq	$56, %rsp
	.cfi_def_cfa_offset 8
	retq
.Lfunc_end1:
	.size	__tvm_set_raised_6, .Lfunc_end1-__tvm_set_raised_6
	.cfi_endproc

	.p2align	4
	.type	__tvm_set_raised_12,@function
__tvm_set_raised_12:
.Lfunc_begin2:
	.cfi_startproc
	subq	$104, %rsp
	.cfi_def_cfa_offset 112
	vmovaps	112(%rsp), %xmm0
	movq	%rdx, 8(%rsp)
	movq	%rcx, 16(%rsp)
	leaq	.L.str.4(%rip), %rcx
	movl	%esi, %eax
	movq	%r8, 24(%rsp)
	movq	%r9, 32(%rsp)
	leaq	8(%rsp), %rsi
	movl	%eax, %edx
	movq	%rcx, 40(%rsp)
	leaq	.L.str.5(%rip), %rcx
	movq	%rcx, 48(%rsp)
	vmovups	%xmm0, 56(%rsp)
	vxorps	%xmm0, %xmm0, %xmm0
	vmovups	%ymm0, 72(%rsp)
	vzeroupper
	callq	TVMFFIErrorSetRaisedFromCStrParts@PLT
	addq	$104, %rsp
	.cfi_def_cfa_offset 8
	retq
.Lfunc_end2:
	.size	__tvm_set_raised_12, .Lfunc_end2-__tvm_set_raised_12
	.cfi_endproc

	.p2align	4
	.type	main_compute_,@function
main_compute_:
.Lfunc_begin3:
	.loc	1 0 0
	.cfi_startproc
	subq	$88, %rsp
	.cfi_def_cfa_offset 96
.Ltmp487:
	movl	120(%rsp), %r11d
	movq	96(%rsp), %rax
	movq	128(%rsp), %r10
	vmovups	104(%rsp), %xmm0
.Ltmp488:
	movl	%r11d, (%rsp)
	movq	%r10, 8(%rsp)
	movq	%r8, 16(%rsp)
	movq	%rdx, 24(%rsp)
	movq	%rcx, 32(%rsp)
	movq	%rsi, 40(%rsp)
	movq	%rax, 48(%rsp)
	movq	__TVMBackendParallelLaunch@GOTPCREL(%rip), %rax
	movq	%rdi, 56(%rsp)
	leaq	.L__tvm_parallel_lambda(%rip), %rdi
.Ltmp489:
	movq	%r9, 64(%rsp)
	movq	%rsp, %rsi
.Ltmp490:
	xorl	%edx, %edx
.Ltmp491:
	vmovups	%xmm0, 72(%rsp)
	callq	*(%rax)
.Ltmp492:
	addq	$88, %rsp
	.cfi_def_cfa_offset 8
	retq
.Ltmp493:
.Lfunc_end3:
	.size	main_compute_, .Lfunc_end3-main_compute_
	.cfi_endproc

	.section	.rodata.cst32,"aM",@progbits,32
	.p2align	5, 0x0
.LCPI4_0:
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.short	1
	.section	.rodata,"a",@progbits
	.p2align	1, 0x0
.LCPI4_1:
	.short	1
	.text
	.p2align	4
	.type	.L__tvm_parallel_lambda,@function
.L__tvm_parallel_lambda:
.Lfunc_begin4:
	.cfi_startproc
	movl	8(%rsi), %esi
	movq	%rdx, %rcx
	leal	7(%rsi), %eax
	cltd
	idivl	%esi
	leal	1(%rdi), %esi
	movl	$8, %edx
	imull	%eax, %esi
	cmpl	$8, %esi
	cmovll	%esi, %edx
	imull	%edi, %eax
	cmpl	%edx, %eax
	jge	.LBB4_1
	pushq	%rbp
	.cfi_def_cfa_offset 16
	pushq	%r15
	.cfi_def_cfa_offset 24
	pushq	%r14
	.cfi_def_cfa_offset 32
	pushq	%r13
	.cfi_def_cfa_offset 40
	pushq	%r12
	.cfi_def_cfa_offset 48
	pushq	%rbx
	.cfi_def_cfa_offset 56
	subq	$136, %rsp
	.cfi_def_cfa_offset 192
	.cfi_offset %rbx, -56
	.cfi_offset %r12, -48
	.cfi_offset %r13, -40
	.cfi_offset %r14, -32
	.cfi_offset %r15, -24
	.cfi_offset %rbp, -16
	movq	40(%rcx), %r9
	movq	48(%rcx), %rsi
	movq	16(%rcx), %r8
	movq	8(%rcx), %rdi
	movl	(%rcx), %r13d
	movq	24(%rcx), %r15
	movq	32(%rcx), %r12
	movq	72(%rcx), %rbx
	movq	80(%rcx), %r14
	cltq
	movq	%rax, 8(%rsp)
	shlq	$4, %rax
	movq	%r9, 40(%rsp)
	movq	56(%rcx), %r9
	movq	%rsi, 32(%rsp)
	movq	64(%rcx), %rsi
	movslq	%edx, %rcx
	movq	%r8, 48(%rsp)
	leaq	1408(%rax,%rdi), %rbp
	movq	%rcx, 16(%rsp)
	movq	%r9, 24(%rsp)
	movq	__TVMBackendAllocWorkspace@GOTPCREL(%rip), %r9
	movq	%rsi, 56(%rsp)
.LBB4_5:
	movl	$12320, %edx
	movl	$1, %edi
	movl	$1, %ecx
	movl	$8, %r8d
	movl	%r13d, %esi
	callq	*(%r9)
	movl	$-1, %ecx
	testq	%rax, %rax
	je	.LBB4_15
	movq	8(%rsp), %rcx
	movl	%r13d, %r10d
	xorl	%edx, %edx
	shlq	$4, %rcx
	.p2align	4
.LBB4_7:
	vbroadcastf128	-1280(%rbp,%rdx,8), %ymm0
	vbroadcastf128	-1408(%rbp,%rdx,8), %ymm1
	vpermpd	$224, %ymm0, %ymm0
	vpermpd	$244, %ymm1, %ymm1
	vblendps	$204, %ymm0, %ymm1, %ymm0
	vmovups	%ymm0, (%rax,%rdx)
	vbroadcastf128	-1024(%rbp,%rdx,8), %ymm0
	vbroadcastf128	-1152(%rbp,%rdx,8), %ymm1
	vpermpd	$224, %ymm0, %ymm0
	vpermpd	$244, %ymm1, %ymm1
	vblendps	$204, %ymm0, %ymm1, %ymm0
	vmovups	%ymm0, 32(%rax,%rdx)
	vbroadcastf128	-768(%rbp,%rdx,8), %ymm0
	vbroadcastf128	-896(%rbp,%rdx,8), %ymm1
	vpermpd	$224, %ymm0, %ymm0
	vpermpd	$244, %ymm1, %ymm1
	vblendps	$204, %ymm0, %ymm1, %ymm0
	vmovups	%ymm0, 64(%rax,%rdx)
	vbroadcastf128	-512(%rbp,%rdx,8), %ymm0
	vbroadcastf128	-640(%rbp,%rdx,8), %ymm1
	vpermpd	$224, %ymm0, %ymm0
	vpermpd	$244, %ymm1, %ymm1
	vblendps	$204, %ymm0, %ymm1, %ymm0
	vmovups	%ymm0, 96(%rax,%rdx)
	vbroadcastf128	-256(%rbp,%rdx,8), %ymm0
	vbroadcastf128	-384(%rbp,%rdx,8), %ymm1
	vpermpd	$224, %ymm0, %ymm0
	vpermpd	$244, %ymm1, %ymm1
	vblendps	$204, %ymm0, %ymm1, %ymm0
	vmovups	%ymm0, 128(%rax,%rdx)
	vbroadcastf128	(%rbp,%rdx,8), %ymm0
	vbroadcastf128	-128(%rbp,%rdx,8), %ymm1
	vpermpd	$224, %ymm0, %ymm0
	vpermpd	$244, %ymm1, %ymm1
	vblendps	$204, %ymm0, %ymm1, %ymm0
	vmovups	%ymm0, 160(%rax,%rdx)
	addq	$192, %rdx
	cmpq	$12288, %rdx
	jne	.LBB4_7
	movq	24(%rsp), %rsi
	movq	40(%rsp), %rdx
	movq	48(%rsp), %r11
	movq	32(%rsp), %r13
	vmovdqa	(%rsi,%rcx,4), %xmm1
	vmovaps	16(%rsi,%rcx,4), %xmm3
	vmovdqa	(%rdx,%rcx,4), %xmm0
	vmovdqa	16(%rdx,%rcx,4), %xmm2
	vinserti128	$1, 32(%rdx,%rcx,4), %ymm0, %ymm0
	vinserti128	$1, 48(%rdx,%rcx,4), %ymm2, %ymm2
	xorl	%edx, %edx
	vinserti128	$1, 32(%rsi,%rcx,4), %ymm1, %ymm1
	vinsertf128	$1, 48(%rsi,%rcx,4), %ymm3, %ymm3
	movq	8(%rsp), %rcx
	vmovdqu	%ymm0, 96(%rsp)
	shlq	$12, %rcx
	leaq	(%rcx,%rcx,2), %rcx
	vmovdqu	%ymm1, 64(%rsp)
	jmp	.LBB4_9
.LBB4_10:
	vpxor	%xmm4, %xmm4, %xmm4
	vpxor	%xmm5, %xmm5, %xmm5
	vpxor	%xmm6, %xmm6, %xmm6
	vpxor	%xmm7, %xmm7, %xmm7
	vpxor	%xmm8, %xmm8, %xmm8
	vpxor	%xmm9, %xmm9, %xmm9
	vpxor	%xmm10, %xmm10, %xmm10
	vpxor	%xmm11, %xmm11, %xmm11
	.p2align	4
.LBB4_13:
	leaq	1(%rdx), %rsi
	leaq	(%rcx,%rdx,4), %rdi
	shlq	$4, %rdx
	movq	56(%rsp), %r8
	vmovdqu	96(%rsp), %ymm14
	vmovups	64(%rsp), %ymm15
	vpbroadcastd	(%r13,%rdx), %ymm0
	vbroadcastss	(%rbx,%rdx), %ymm13
	vbroadcastss	(%r8,%rdx), %ymm12
	vpmulld	%ymm0, %ymm14, %ymm1
	vpmulld	%ymm0, %ymm2, %ymm0
	vpsubd	%ymm0, %ymm10, %ymm0
	vpsubd	%ymm1, %ymm11, %ymm1
	vcvtdq2ps	%ymm0, %ymm0
	vmulps	%ymm3, %ymm12, %ymm10
	vmulps	%ymm15, %ymm12, %ymm11
	vcvtdq2ps	%ymm1, %ymm1
	vbroadcastss	4(%r8,%rdx), %ymm12
	vfmadd213ps	%ymm13, %ymm0, %ymm10
	vpbroadcastd	4(%r13,%rdx), %ymm0
	vfmadd213ps	%ymm13, %ymm1, %ymm11
	vbroadcastss	4(%rbx,%rdx), %ymm13
	vpmulld	%ymm0, %ymm14, %ymm1
	vpmulld	%ymm0, %ymm2, %ymm0
	vpsubd	%ymm0, %ymm8, %ymm0
	vmulps	%ymm3, %ymm12, %ymm8
	vpsubd	%ymm1, %ymm9, %ymm1
	vmulps	%ymm15, %ymm12, %ymm9
	vcvtdq2ps	%ymm0, %ymm0
	vcvtdq2ps	%ymm1, %ymm1
	vfmadd213ps	%ymm13, %ymm0, %ymm8
	vpbroadcastd	8(%r13,%rdx), %ymm0
	vfmadd213ps	%ymm13, %ymm1, %ymm9
	vbroadcastss	8(%rbx,%rdx), %ymm13
	vpmulld	%ymm0, %ymm14, %ymm1
	vpmulld	%ymm0, %ymm2, %ymm0
	vpsubd	%ymm1, %ymm7, %ymm1
	vbroadcastss	8(%r8,%rdx), %ymm7
	vpsubd	%ymm0, %ymm6, %ymm0
	vcvtdq2ps	%ymm1, %ymm1
	vcvtdq2ps	%ymm0, %ymm0
	vmulps	%ymm7, %ymm15, %ymm12
	vfmadd213ps	%ymm13, %ymm1, %ymm12
	vmulps	%ymm3, %ymm7, %ymm1
	vfmadd213ps	%ymm13, %ymm0, %ymm1
	vpbroadcastd	12(%r13,%rdx), %ymm0
	vbroadcastss	12(%rbx,%rdx), %ymm13
	vpmulld	%ymm0, %ymm14, %ymm6
	vpmulld	%ymm0, %ymm2, %ymm0
	vpsubd	%ymm6, %ymm5, %ymm5
	vbroadcastss	12(%r8,%rdx), %ymm6
	vpsubd	%ymm0, %ymm4, %ymm0
	movq	%rsi, %rdx
	vcvtdq2ps	%ymm5, %ymm5
	vcvtdq2ps	%ymm0, %ymm0
	vmulps	%ymm6, %ymm15, %ymm7
	vmulps	%ymm3, %ymm6, %ymm4
	vfmadd213ps	%ymm13, %ymm5, %ymm7
	vfmadd213ps	%ymm13, %ymm0, %ymm4
	vunpcklps	%ymm9, %ymm11, %ymm0
	vunpcklps	%ymm7, %ymm12, %ymm5
	vunpckhps	%ymm7, %ymm12, %ymm7
	vunpcklpd	%ymm5, %ymm0, %ymm6
	vunpckhpd	%ymm5, %ymm0, %ymm0
	vunpckhps	%ymm9, %ymm11, %ymm5
	vunpcklps	%ymm4, %ymm1, %ymm11
	vunpckhps	%ymm4, %ymm1, %ymm1
	vunpcklpd	%ymm7, %ymm5, %ymm9
	vunpckhpd	%ymm7, %ymm5, %ymm5
	vunpcklps	%ymm8, %ymm10, %ymm7
	vunpckhps	%ymm8, %ymm10, %ymm8
	vmovaps	%xmm6, (%r14,%rdi,4)
	vextractf128	$1, %ymm6, 24576(%r14,%rdi,4)
	vmovaps	%xmm0, 3072(%r14,%rdi,4)
	vextractf128	$1, %ymm0, 27648(%r14,%rdi,4)
	vunpcklpd	%ymm11, %ymm7, %ymm12
	vunpckhpd	%ymm11, %ymm7, %ymm7
	vunpcklpd	%ymm1, %ymm8, %ymm4
	vunpckhpd	%ymm1, %ymm8, %ymm0
	vmovaps	%xmm9, 6144(%r14,%rdi,4)
	vextractf128	$1, %ymm9, 30720(%r14,%rdi,4)
	vmovaps	%xmm5, 9216(%r14,%rdi,4)
	vextractf128	$1, %ymm5, 33792(%r14,%rdi,4)
	vmovaps	%xmm12, 12288(%r14,%rdi,4)
	vextractf128	$1, %ymm12, 36864(%r14,%rdi,4)
	vmovaps	%xmm7, 15360(%r14,%rdi,4)
	vextractf128	$1, %ymm7, 39936(%r14,%rdi,4)
	vmovaps	%xmm4, 18432(%r14,%rdi,4)
	vextractf128	$1, %ymm4, 43008(%r14,%rdi,4)
	vmovaps	%xmm0, 21504(%r14,%rdi,4)
	vextractf128	$1, %ymm0, 46080(%r14,%rdi,4)
	cmpq	$192, %rsi
	je	.LBB4_14
.LBB4_9:
	movl	(%r11,%rdx,4), %esi
	movl	4(%r11,%rdx,4), %edi
	subl	%esi, %edi
	jle	.LBB4_10
	vpbroadcastw	.LCPI4_1(%rip), %ymm1
	leal	(,%rsi,4), %r8d
	shll	$4, %esi
	movl	%edi, %edi
	vpxor	%xmm4, %xmm4, %xmm4
	vpxor	%xmm6, %xmm6, %xmm6
	vpxor	%xmm8, %xmm8, %xmm8
	vpxor	%xmm10, %xmm10, %xmm10
	vpxor	%xmm5, %xmm5, %xmm5
	vpxor	%xmm7, %xmm7, %xmm7
	vpxor	%xmm9, %xmm9, %xmm9
	vpxor	%xmm11, %xmm11, %xmm11
	.p2align	4
.LBB4_12:
	movslq	%r8d, %r8
	movslq	%esi, %rsi
	movslq	(%r12,%r8,4), %r9
	prefetcht0	512(%r15,%rsi)
	prefetcht0	512(%r12,%r8,4)
	vmovdqu	(%rax,%r9), %ymm12
	movslq	4(%r12,%r8,4), %r9
	vpunpcklbw	(%rax,%r9), %ymm12, %ymm12
	movslq	8(%r12,%r8,4), %r9
	vmovdqu	(%rax,%r9), %ymm13
	movslq	12(%r12,%r8,4), %r9
	addl	$4, %r8d
	vpunpcklbw	(%rax,%r9), %ymm13, %ymm13
	vpunpcklwd	%ymm13, %ymm12, %ymm14
	vpunpckhwd	%ymm13, %ymm12, %ymm12
	vpbroadcastd	(%r15,%rsi), %ymm13
	vpmaddubsw	%ymm13, %ymm14, %ymm15
	vpmaddubsw	%ymm13, %ymm12, %ymm13
	vpmaddwd	.LCPI4_0(%rip), %ymm13, %ymm13
	vpmaddwd	%ymm1, %ymm15, %ymm15
	vpaddd	%ymm15, %ymm11, %ymm11
	vpbroadcastd	4(%r15,%rsi), %ymm15
	vpaddd	%ymm13, %ymm10, %ymm10
	vpmaddubsw	%ymm15, %ymm14, %ymm0
	vpmaddubsw	%ymm15, %ymm12, %ymm13
	vpmaddwd	.LCPI4_0(%rip), %ymm13, %ymm13
	vpmaddwd	%ymm1, %ymm0, %ymm0
	vpaddd	%ymm0, %ymm9, %ymm9
	vpbroadcastd	8(%r15,%rsi), %ymm0
	vpaddd	%ymm13, %ymm8, %ymm8
	vpmaddubsw	%ymm0, %ymm14, %ymm1
	vpmaddwd	.LCPI4_0(%rip), %ymm1, %ymm1
	vpmaddubsw	%ymm0, %ymm12, %ymm0
	vpmaddwd	.LCPI4_0(%rip), %ymm0, %ymm0
	vpaddd	%ymm1, %ymm7, %ymm7
	vpbroadcastd	12(%r15,%rsi), %ymm1
	vpaddd	%ymm0, %ymm6, %ymm6
	addl	$16, %esi
	decq	%rdi
	vpmaddubsw	%ymm1, %ymm14, %ymm14
	vpmaddubsw	%ymm1, %ymm12, %ymm0
	vpbroadcastw	.LCPI4_1(%rip), %ymm1
	vpmaddwd	.LCPI4_0(%rip), %ymm14, %ymm14
	vpmaddwd	%ymm1, %ymm0, %ymm0
	vpaddd	%ymm5, %ymm14, %ymm5
	vpaddd	%ymm0, %ymm4, %ymm4
	jne	.LBB4_12
	jmp	.LBB4_13
.LBB4_14:
	movq	%rax, %rdx
	movq	__TVMBackendFreeWorkspace@GOTPCREL(%rip), %rax
	movl	$1, %edi
	movl	%r10d, %esi
	movl	%r10d, %r13d
	vzeroupper
	callq	*(%rax)
	movq	__TVMBackendAllocWorkspace@GOTPCREL(%rip), %r9
	movl	$-1, %ecx
	testl	%eax, %eax
	jne	.LBB4_15
	movq	8(%rsp), %rax
	addq	$16, %rbp
	xorl	%ecx, %ecx
	incq	%rax
	movq	%rax, 8(%rsp)
	cmpq	16(%rsp), %rax
	jne	.LBB4_5
.LBB4_15:
	addq	$136, %rsp
	.cfi_def_cfa_offset 56
	popq	%rbx
	.cfi_def_cfa_offset 48
	popq	%r12
	.cfi_def_cfa_offset 40
	popq	%r13
	.cfi_def_cfa_offset 32
	popq	%r14
	.cfi_def_cfa_offset 24
	popq	%r15
	.cfi_def_cfa_offset 16
	popq	%rbp
	.cfi_def_cfa_offset 8
	.cfi_restore %rbx
	.cfi_restore %r12
	.cfi_restore %r13
	.cfi_restore %r14
	.cfi_restore %r15
	.cfi_restore %rbp
	movl	%ecx, %eax
	retq
.LBB4_1:
	xorl	%eax, %eax
	retq
.Lfunc_end4:
	.size	.L__tvm_parallel_lambda, .Lfunc_end4-.L__tvm_parallel_lambda
	.cfi_endproc

	.section	.text.tvm.fp16.conv,"ax",@progbits
	.weak	__truncsfhf2
	.p2align	4
	.type	__truncsfhf2,@function
__truncsfhf2:
.Lfunc_begin5:
	.cfi_startproc
	vmovd	%xmm0, %eax
	movl	%eax, %edx
	andl	$2147483647, %edx
	leal	-947912704(%rdx), %ecx
	leal	-1199570944(%rdx), %esi
	cmpl	%esi, %ecx
	jae	.LBB5_5
	movl	%eax, %edx
	movl	%eax, %esi
	shrl	$13, %edx
	andl	$8191, %esi
	cmpl	$4097, %esi
	jb	.LBB5_3
	addl	$-114687, %edx
	movl	%edx, %ecx
	jmp	.LBB5_13
.LBB5_5:
	cmpl	$2139095041, %edx
	jb	.LBB5_7
	movl	$2317, %ecx
	bextrl	%ecx, %eax, %ecx
	orl	$32256, %ecx
	jmp	.LBB5_13
.LBB5_3:
	leal	-114688(%rdx), %ecx
	cmpl	$4096, %esi
	jne	.LBB5_13
	andl	$1, %edx
	addl	%edx, %ecx
	jmp	.LBB5_13
.LBB5_7:
	movl	$31744, %ecx
	cmpl	$1199570943, %edx
	ja	.LBB5_13
	xorl	%ecx, %ecx
	cmpl	$754974720, %edx
	jb	.LBB5_13
	movl	%eax, %ecx
	andl	$8388607, %ecx
	shrl	$23, %edx
	xorl	%edi, %edi
	orl	$8388608, %ecx
	leal	-81(%rdx), %esi
	shlxl	%esi, %ecx, %esi
	testl	%esi, %esi
	movb	$113, %sil
	setne	%dil
	subb	%dl, %sil
	shrxl	%esi, %ecx, %edx
	movl	%edx, %ecx
	andl	$8191, %edx
	shrl	$13, %ecx
	orl	%edi, %edx
	cmpl	$4097, %edx
	jb	.LBB5_11
	incl	%ecx
	jmp	.LBB5_13
.LBB5_11:
	cmpl	$4096, %edx
	jne	.LBB5_13
	movl	%ecx, %edx
	andl	$1, %edx
	addl	%edx, %ecx
.LBB5_13:
	shrl	$16, %eax
	andl	$32768, %eax
	orl	%ecx, %eax
	vpinsrw	$0, %eax, %xmm0, %xmm0
	retq
.Lfunc_end5:
	.size	__truncsfhf2, .Lfunc_end5-__truncsfhf2
	.cfi_endproc

	.weak	__extendhfsf2
	.p2align	4
	.type	__extendhfsf2,@function
__extendhfsf2:
.Lfunc_begin6:
	.cfi_startproc
	vpextrw	$0, %xmm0, %eax
	movl	%eax, %ecx
	andl	$32767, %ecx
	leal	-1024(%rcx), %edx
	cmpw	$30719, %dx
	ja	.LBB6_2
	shll	$13, %ecx
	addl	$939524096, %ecx
	jmp	.LBB6_7
.LBB6_2:
	cmpw	$31744, %cx
	jb	.LBB6_4
	shll	$13, %ecx
	orl	$2139095040, %ecx
	jmp	.LBB6_7
.LBB6_4:
	testl	%ecx, %ecx
	je	.LBB6_5
	movl	%ecx, %edx
	shrl	$8, %edx
	xorl	%esi, %esi
	cmpw	$256, %cx
	setb	%sil
	cmovbl	%ecx, %edx
	movl	%edx, %r8d
	leal	24(,%rsi,8), %edi
	shrl	$4, %r8d
	cmpl	$16, %edx
	leal	20(,%rsi,8), %esi
	cmovbl	%edx, %r8d
	cmovbl	%edi, %esi
	movl	%r8d, %edx
	shrl	$2, %edx
	cmpl	$4, %r8d
	leal	-2(%rsi), %edi
	cmovbl	%r8d, %edx
	cmovbl	%esi, %edi
	movl	%edx, %esi
	negl	%esi
	cmpl	$2, %edx
	movl	$-2, %edx
	cmovbl	%esi, %edx
	addl	%edi, %edx
	leal	-8(%rdx), %esi
	shll	$23, %edx
	shlxl	%esi, %ecx, %esi
	movl	$1124073472, %ecx
	xorl	$8388608, %esi
	subl	%edx, %ecx
	orl	%esi, %ecx
	jmp	.LBB6_7
.LBB6_5:
	xorl	%ecx, %ecx
.LBB6_7:
	andl	$32768, %eax
	shll	$16, %eax
	orl	%ecx, %eax
	vmovd	%eax, %xmm0
	retq
.Lfunc_end6:
	.size	__extendhfsf2, .Lfunc_end6-__extendhfsf2
	.cfi_endproc

	.type	__TVMBackendParallelLaunch,@object
	.bss
	.weak	__TVMBackendParallelLaunch
	.p2align	3, 0x0
__TVMBackendParallelLaunch:
	.quad	0
	.size	__TVMBackendParallelLaunch, 8

	.type	.L.str,@object
	.section	.rodata,"a",@progbits
.L.str:
	.asciz	"TypeError"
	.size	.L.str, 10

	.type	.L.str.1,@object
.L.str.1:
	.asciz	"Expected "
	.size	.L.str.1, 10

	.type	.L.str.2,@object
.L.str.2:
	.asciz	"11"
	.size	.L.str.2, 3

	.type	.L.str.3,@object
.L.str.3:
	.asciz	" arguments"
	.size	.L.str.3, 11

	.type	.L.str.4,@object
.L.str.4:
	.asciz	" when calling:\n  `"
	.size	.L.str.4, 19

	.type	.L.str.5,@object
.L.str.5:
	.asciz	"main(XT: Tensor([768, 128], uint8), x_scale: Tensor([128], float32), x_zp: Tensor([128], int32), w_data: Tensor([3758, 4, 4], int8), w_xt_offsets: Tensor([3758, 4], int32), w_slab_offsets: Tensor([3758, 4], int32), w_group_ptr: Tensor([193], int32), w_scale: Tensor([768], float32), w_row_sum: Tensor([768], int32), bias: Tensor([768], float32), Y: Tensor([128, 768], float32))"
	.size	.L.str.5, 378

	.type	.L.str.6,@object
.L.str.6:
	.asciz	"`"
	.size	.L.str.6, 2

	.type	.L.str.7,@object
.L.str.7:
	.asciz	"args pointer is NULL"
	.size	.L.str.7, 21

	.type	.L.str.8,@object
.L.str.8:
	.asciz	"Mismatched type on argument #"
	.size	.L.str.8, 30

	.type	.L.str.9,@object
.L.str.9:
	.asciz	"0"
	.size	.L.str.9, 2

	.type	.L.str.10,@object
.L.str.10:
	.asciz	"`,\n  expected "
	.size	.L.str.10, 15

	.type	.L.str.11,@object
.L.str.11:
	.asciz	"Tensor"
	.size	.L.str.11, 7

	.type	.L.str.12,@object
.L.str.12:
	.asciz	"1"
	.size	.L.str.12, 2

	.type	.L.str.13,@object
.L.str.13:
	.asciz	"2"
	.size	.L.str.13, 2

	.type	.L.str.14,@object
.L.str.14:
	.asciz	"3"
	.size	.L.str.14, 2

	.type	.L.str.15,@object
.L.str.15:
	.asciz	"4"
	.size	.L.str.15, 2

	.type	.L.str.16,@object
.L.str.16:
	.asciz	"5"
	.size	.L.str.16, 2

	.type	.L.str.17,@object
.L.str.17:
	.asciz	"6"
	.size	.L.str.17, 2

	.type	.L.str.18,@object
.L.str.18:
	.asciz	"7"
	.size	.L.str.18, 2

	.type	.L.str.19,@object
.L.str.19:
	.asciz	"8"
	.size	.L.str.19, 2

	.type	.L.str.20,@object
.L.str.20:
	.asciz	"9"
	.size	.L.str.20, 2

	.type	.L.str.21,@object
.L.str.21:
	.asciz	"10"
	.size	.L.str.21, 3

	.type	.L.str.22,@object
.L.str.22:
	.asciz	"ValueError"
	.size	.L.str.22, 11

	.type	.L.str.23,@object
.L.str.23:
	.asciz	"Mismatched "
	.size	.L.str.23, 12

	.type	.L.str.24,@object
.L.str.24:
	.asciz	"XT"
	.size	.L.str.24, 3

	.type	.L.str.25,@object
.L.str.25:
	.asciz	".ndim on argument #"
	.size	.L.str.25, 20

	.type	.L.str.26,@object
.L.str.26:
	.asciz	".dtype on argument #"
	.size	.L.str.26, 21

	.type	.L.str.27,@object
.L.str.27:
	.asciz	"uint8"
	.size	.L.str.27, 6

	.type	.L.str.28,@object
.L.str.28:
	.asciz	".device_type on argument #"
	.size	.L.str.28, 27

	.type	.L.str.29,@object
.L.str.29:
	.asciz	"cpu"
	.size	.L.str.29, 4

	.type	.L.str.30,@object
.L.str.30:
	.asciz	"x_scale"
	.size	.L.str.30, 8

	.type	.L.str.31,@object
.L.str.31:
	.asciz	"float32"
	.size	.L.str.31, 8

	.type	.L.str.32,@object
.L.str.32:
	.asciz	"x_zp"
	.size	.L.str.32, 5

	.type	.L.str.33,@object
.L.str.33:
	.asciz	"int32"
	.size	.L.str.33, 6

	.type	.L.str.34,@object
.L.str.34:
	.asciz	"w_data"
	.size	.L.str.34, 7

	.type	.L.str.35,@object
.L.str.35:
	.asciz	"int8"
	.size	.L.str.35, 5

	.type	.L.str.36,@object
.L.str.36:
	.asciz	"w_xt_offsets"
	.size	.L.str.36, 13

	.type	.L.str.37,@object
.L.str.37:
	.asciz	"w_slab_offsets"
	.size	.L.str.37, 15

	.type	.L.str.38,@object
.L.str.38:
	.asciz	"w_group_ptr"
	.size	.L.str.38, 12

	.type	.L.str.39,@object
.L.str.39:
	.asciz	"w_scale"
	.size	.L.str.39, 8

	.type	.L.str.40,@object
.L.str.40:
	.asciz	"w_row_sum"
	.size	.L.str.40, 10

	.type	.L.str.41,@object
.L.str.41:
	.asciz	"bias"
	.size	.L.str.41, 5

	.type	.L.str.42,@object
.L.str.42:
	.asciz	"Y"
	.size	.L.str.42, 2

	.type	.L.str.43,@object
.L.str.43:
	.asciz	".strides on argument #"
	.size	.L.str.43, 23

	.type	.L.str.44,@object
.L.str.44:
	.asciz	"`,\n  expected to be compact array"
	.size	.L.str.44, 34

	.type	.L.str.45,@object
.L.str.45:
	.asciz	" data pointer is NULL on argument #"
	.size	.L.str.45, 36

	.type	.L.str.46,@object
.L.str.46:
	.asciz	"`,\n  expected non-NULL data pointer"
	.size	.L.str.46, 36

	.type	.L.str.47,@object
.L.str.47:
	.asciz	"x_scale.device_id"
	.size	.L.str.47, 18

	.type	.L.str.48,@object
.L.str.48:
	.asciz	" on argument #"
	.size	.L.str.48, 15

	.type	.L.str.49,@object
.L.str.49:
	.asciz	"`,\n  expected to match "
	.size	.L.str.49, 24

	.type	.L.str.50,@object
.L.str.50:
	.asciz	"XT.device_id"
	.size	.L.str.50, 13

	.type	.L.str.51,@object
.L.str.51:
	.asciz	"x_zp.device_id"
	.size	.L.str.51, 15

	.type	.L.str.52,@object
.L.str.52:
	.asciz	"w_data.device_id"
	.size	.L.str.52, 17

	.type	.L.str.53,@object
.L.str.53:
	.asciz	"w_xt_offsets.device_id"
	.size	.L.str.53, 23

	.type	.L.str.54,@object
.L.str.54:
	.asciz	"w_slab_offsets.device_id"
	.size	.L.str.54, 25

	.type	.L.str.55,@object
.L.str.55:
	.asciz	"w_group_ptr.device_id"
	.size	.L.str.55, 22

	.type	.L.str.56,@object
.L.str.56:
	.asciz	"w_scale.device_id"
	.size	.L.str.56, 18

	.type	.L.str.57,@object
.L.str.57:
	.asciz	"w_row_sum.device_id"
	.size	.L.str.57, 20

	.type	.L.str.58,@object
.L.str.58:
	.asciz	"bias.device_id"
	.size	.L.str.58, 15

	.type	.L.str.59,@object
.L.str.59:
	.asciz	"Y.device_id"
	.size	.L.str.59, 12

	.type	.L.str.60,@object
.L.str.60:
	.asciz	"Invalid "
	.size	.L.str.60, 9

	.type	.L.str.61,@object
.L.str.61:
	.asciz	"XT.shape[0]"
	.size	.L.str.61, 12

	.type	.L.str.62,@object
.L.str.62:
	.asciz	"768"
	.size	.L.str.62, 4

	.type	.L.str.63,@object
.L.str.63:
	.asciz	"XT.shape[1]"
	.size	.L.str.63, 12

	.type	.L.str.64,@object
.L.str.64:
	.asciz	"128"
	.size	.L.str.64, 4

	.type	.L.str.65,@object
.L.str.65:
	.asciz	"XT.byte_offset"
	.size	.L.str.65, 15

	.type	.L.str.66,@object
.L.str.66:
	.asciz	"x_scale.shape[0]"
	.size	.L.str.66, 17

	.type	.L.str.67,@object
.L.str.67:
	.asciz	"x_scale.byte_offset"
	.size	.L.str.67, 20

	.type	.L.str.68,@object
.L.str.68:
	.asciz	"x_zp.shape[0]"
	.size	.L.str.68, 14

	.type	.L.str.69,@object
.L.str.69:
	.asciz	"x_zp.byte_offset"
	.size	.L.str.69, 17

	.type	.L.str.70,@object
.L.str.70:
	.asciz	"w_data.shape[0]"
	.size	.L.str.70, 16

	.type	.L.str.71,@object
.L.str.71:
	.asciz	"3758"
	.size	.L.str.71, 5

	.type	.L.str.72,@object
.L.str.72:
	.asciz	"w_data.shape[1]"
	.size	.L.str.72, 16

	.type	.L.str.73,@object
.L.str.73:
	.asciz	"w_data.shape[2]"
	.size	.L.str.73, 16

	.type	.L.str.74,@object
.L.str.74:
	.asciz	"w_data.byte_offset"
	.size	.L.str.74, 19

	.type	.L.str.75,@object
.L.str.75:
	.asciz	"w_xt_offsets.shape[0]"
	.size	.L.str.75, 22

	.type	.L.str.76,@object
.L.str.76:
	.asciz	"w_xt_offsets.shape[1]"
	.size	.L.str.76, 22

	.type	.L.str.77,@object
.L.str.77:
	.asciz	"w_xt_offsets.byte_offset"
	.size	.L.str.77, 25

	.type	.L.str.78,@object
.L.str.78:
	.asciz	"w_slab_offsets.shape[0]"
	.size	.L.str.78, 24

	.type	.L.str.79,@object
.L.str.79:
	.asciz	"w_slab_offsets.shape[1]"
	.size	.L.str.79, 24

	.type	.L.str.80,@object
.L.str.80:
	.asciz	"w_slab_offsets.byte_offset"
	.size	.L.str.80, 27

	.type	.L.str.81,@object
.L.str.81:
	.asciz	"w_group_ptr.shape[0]"
	.size	.L.str.81, 21

	.type	.L.str.82,@object
.L.str.82:
	.asciz	"193"
	.size	.L.str.82, 4

	.type	.L.str.83,@object
.L.str.83:
	.asciz	"w_group_ptr.byte_offset"
	.size	.L.str.83, 24

	.type	.L.str.84,@object
.L.str.84:
	.asciz	"w_scale.shape[0]"
	.size	.L.str.84, 17

	.type	.L.str.85,@object
.L.str.85:
	.asciz	"w_scale.byte_offset"
	.size	.L.str.85, 20

	.type	.L.str.86,@object
.L.str.86:
	.asciz	"w_row_sum.shape[0]"
	.size	.L.str.86, 19

	.type	.L.str.87,@object
.L.str.87:
	.asciz	"w_row_sum.byte_offset"
	.size	.L.str.87, 22

	.type	.L.str.88,@object
.L.str.88:
	.asciz	"bias.shape[0]"
	.size	.L.str.88, 14

	.type	.L.str.89,@object
.L.str.89:
	.asciz	"bias.byte_offset"
	.size	.L.str.89, 17

	.type	.L.str.90,@object
.L.str.90:
	.asciz	"Y.shape[0]"
	.size	.L.str.90, 11

	.type	.L.str.91,@object
.L.str.91:
	.asciz	"Y.shape[1]"
	.size	.L.str.91, 11

	.type	.L.str.92,@object
.L.str.92:
	.asciz	"Y.byte_offset"
	.size	.L.str.92, 14

	.type	__TVMBackendAllocWorkspace,@object
	.bss
	.weak	__TVMBackendAllocWorkspace
	.p2align	3, 0x0
__TVMBackendAllocWorkspace:
	.quad	0
	.size	__TVMBackendAllocWorkspace, 8

	.type	__TVMBackendFreeWorkspace,@object
	.weak	__TVMBackendFreeWorkspace
	.p2align	3, 0x0
__TVMBackendFreeWorkspace:
	.quad	0
	.size	__TVMBackendFreeWorkspace, 8

	.section	.debug_loc,"",@progbits
.Ldebug_loc0:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin0-.Lfunc_begin0
	.quad	.Ltmp65-.Lfunc_begin0
	.short	1
	.byte	85
	.quad	.Ltmp65-.Lfunc_begin0
	.quad	.Ltmp70-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	85
	.byte	159
	.quad	.Ltmp70-.Lfunc_begin0
	.quad	.Ltmp71-.Lfunc_begin0
	.short	1
	.byte	85
	.quad	.Ltmp71-.Lfunc_begin0
	.quad	.Ltmp280-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	85
	.byte	159
	.quad	.Ltmp280-.Lfunc_begin0
	.quad	.Ltmp281-.Lfunc_begin0
	.short	1
	.byte	85
	.quad	.Ltmp281-.Lfunc_begin0
	.quad	.Ltmp284-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	85
	.byte	159
	.quad	.Ltmp284-.Lfunc_begin0
	.quad	.Ltmp285-.Lfunc_begin0
	.short	1
	.byte	85
	.quad	.Ltmp285-.Lfunc_begin0
	.quad	.Lfunc_end0-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	85
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc1:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin0-.Lfunc_begin0
	.quad	.Ltmp163-.Lfunc_begin0
	.short	1
	.byte	84
	.quad	.Ltmp163-.Lfunc_begin0
	.quad	.Ltmp268-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	84
	.byte	159
	.quad	.Ltmp268-.Lfunc_begin0
	.quad	.Ltmp288-.Lfunc_begin0
	.short	1
	.byte	84
	.quad	.Ltmp288-.Lfunc_begin0
	.quad	.Ltmp289-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	84
	.byte	159
	.quad	.Ltmp289-.Lfunc_begin0
	.quad	.Ltmp323-.Lfunc_begin0
	.short	1
	.byte	84
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Lfunc_end0-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	84
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc2:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin0-.Lfunc_begin0
	.quad	.Ltmp86-.Lfunc_begin0
	.short	1
	.byte	81
	.quad	.Ltmp86-.Lfunc_begin0
	.quad	.Ltmp87-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	81
	.byte	159
	.quad	.Ltmp87-.Lfunc_begin0
	.quad	.Ltmp91-.Lfunc_begin0
	.short	1
	.byte	81
	.quad	.Ltmp91-.Lfunc_begin0
	.quad	.Ltmp280-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	81
	.byte	159
	.quad	.Ltmp280-.Lfunc_begin0
	.quad	.Ltmp282-.Lfunc_begin0
	.short	1
	.byte	81
	.quad	.Ltmp282-.Lfunc_begin0
	.quad	.Ltmp284-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	81
	.byte	159
	.quad	.Ltmp284-.Lfunc_begin0
	.quad	.Ltmp286-.Lfunc_begin0
	.short	1
	.byte	81
	.quad	.Ltmp286-.Lfunc_begin0
	.quad	.Lfunc_end0-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	81
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc3:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin0-.Lfunc_begin0
	.quad	.Ltmp7-.Lfunc_begin0
	.short	1
	.byte	82
	.quad	.Ltmp7-.Lfunc_begin0
	.quad	.Ltmp9-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	82
	.byte	159
	.quad	.Ltmp9-.Lfunc_begin0
	.quad	.Ltmp11-.Lfunc_begin0
	.short	1
	.byte	82
	.quad	.Ltmp11-.Lfunc_begin0
	.quad	.Ltmp280-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	82
	.byte	159
	.quad	.Ltmp280-.Lfunc_begin0
	.quad	.Ltmp283-.Lfunc_begin0
	.short	1
	.byte	82
	.quad	.Ltmp283-.Lfunc_begin0
	.quad	.Ltmp284-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	82
	.byte	159
	.quad	.Ltmp284-.Lfunc_begin0
	.quad	.Ltmp287-.Lfunc_begin0
	.short	1
	.byte	82
	.quad	.Ltmp287-.Lfunc_begin0
	.quad	.Lfunc_end0-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	82
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc4:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp2-.Lfunc_begin0
	.quad	.Ltmp6-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	.Ltmp9-.Lfunc_begin0
	.quad	.Ltmp14-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc5:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp6-.Lfunc_begin0
	.quad	.Ltmp7-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc6:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp18-.Lfunc_begin0
	.quad	.Ltmp19-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc7:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp26-.Lfunc_begin0
	.quad	.Ltmp27-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc8:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp34-.Lfunc_begin0
	.quad	.Ltmp35-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc9:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp42-.Lfunc_begin0
	.quad	.Ltmp43-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc10:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp50-.Lfunc_begin0
	.quad	.Ltmp51-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc11:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp58-.Lfunc_begin0
	.quad	.Ltmp59-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc12:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp67-.Lfunc_begin0
	.quad	.Ltmp68-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc13:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp75-.Lfunc_begin0
	.quad	.Ltmp76-.Lfunc_begin0
	.short	1
	.byte	80
	.quad	0
	.quad	0
.Ldebug_loc14:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp83-.Lfunc_begin0
	.quad	.Ltmp84-.Lfunc_begin0
	.short	1
	.byte	82
	.quad	0
	.quad	0
.Ldebug_loc15:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp159-.Lfunc_begin0
	.quad	.Ltmp167-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	176
	.byte	1
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	176
	.byte	1
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	176
	.byte	1
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	176
	.byte	1
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	176
	.byte	1
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	176
	.byte	1
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc16:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp160-.Lfunc_begin0
	.quad	.Ltmp184-.Lfunc_begin0
	.short	2
	.byte	126
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp327-.Lfunc_begin0
	.short	2
	.byte	126
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc17:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp161-.Lfunc_begin0
	.quad	.Ltmp266-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp328-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp332-.Lfunc_begin0
	.quad	.Ltmp337-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp340-.Lfunc_begin0
	.quad	.Ltmp341-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp345-.Lfunc_begin0
	.quad	.Ltmp350-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp353-.Lfunc_begin0
	.quad	.Ltmp354-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp358-.Lfunc_begin0
	.quad	.Ltmp359-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp361-.Lfunc_begin0
	.quad	.Ltmp365-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp368-.Lfunc_begin0
	.quad	.Ltmp372-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp374-.Lfunc_begin0
	.quad	.Ltmp375-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp377-.Lfunc_begin0
	.quad	.Ltmp380-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp381-.Lfunc_begin0
	.quad	.Ltmp382-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp383-.Lfunc_begin0
	.quad	.Ltmp385-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp386-.Lfunc_begin0
	.quad	.Ltmp387-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp388-.Lfunc_begin0
	.quad	.Ltmp390-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp391-.Lfunc_begin0
	.quad	.Ltmp392-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp393-.Lfunc_begin0
	.quad	.Ltmp395-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp396-.Lfunc_begin0
	.quad	.Ltmp397-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp398-.Lfunc_begin0
	.quad	.Ltmp400-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp401-.Lfunc_begin0
	.quad	.Ltmp402-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp403-.Lfunc_begin0
	.quad	.Ltmp407-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp408-.Lfunc_begin0
	.quad	.Ltmp409-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp414-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp415-.Lfunc_begin0
	.quad	.Ltmp416-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp418-.Lfunc_begin0
	.quad	.Ltmp420-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp421-.Lfunc_begin0
	.quad	.Ltmp422-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp426-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp427-.Lfunc_begin0
	.quad	.Ltmp428-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp430-.Lfunc_begin0
	.quad	.Ltmp431-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp432-.Lfunc_begin0
	.quad	.Ltmp433-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp434-.Lfunc_begin0
	.quad	.Ltmp435-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp436-.Lfunc_begin0
	.quad	.Ltmp437-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp439-.Lfunc_begin0
	.quad	.Ltmp440-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp441-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp446-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp448-.Lfunc_begin0
	.quad	.Ltmp449-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp450-.Lfunc_begin0
	.quad	.Ltmp451-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp452-.Lfunc_begin0
	.quad	.Ltmp453-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp455-.Lfunc_begin0
	.quad	.Ltmp456-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp457-.Lfunc_begin0
	.quad	.Ltmp458-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp460-.Lfunc_begin0
	.quad	.Ltmp461-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp462-.Lfunc_begin0
	.quad	.Ltmp463-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp465-.Lfunc_begin0
	.quad	.Ltmp466-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp467-.Lfunc_begin0
	.quad	.Ltmp468-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp470-.Lfunc_begin0
	.quad	.Ltmp471-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp472-.Lfunc_begin0
	.quad	.Ltmp473-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp475-.Lfunc_begin0
	.quad	.Ltmp476-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp477-.Lfunc_begin0
	.quad	.Ltmp478-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	.Ltmp479-.Lfunc_begin0
	.quad	.Ltmp480-.Lfunc_begin0
	.short	1
	.byte	90
	.quad	0
	.quad	0
.Ldebug_loc18:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp163-.Lfunc_begin0
	.quad	.Ltmp165-.Lfunc_begin0
	.short	2
	.byte	116
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	160
	.byte	1
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	160
	.byte	1
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	160
	.byte	1
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	160
	.byte	1
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	160
	.byte	1
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	160
	.byte	1
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc19:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp167-.Lfunc_begin0
	.quad	.Ltmp196-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp325-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp327-.Lfunc_begin0
	.quad	.Ltmp330-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp332-.Lfunc_begin0
	.quad	.Ltmp334-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp336-.Lfunc_begin0
	.quad	.Ltmp339-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp340-.Lfunc_begin0
	.quad	.Ltmp343-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp345-.Lfunc_begin0
	.quad	.Ltmp347-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp349-.Lfunc_begin0
	.quad	.Ltmp352-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	.Ltmp353-.Lfunc_begin0
	.quad	.Ltmp356-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc20:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp162-.Lfunc_begin0
	.quad	.Ltmp164-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	152
	.byte	1
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	152
	.byte	1
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	152
	.byte	1
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	152
	.byte	1
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	152
	.byte	1
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	152
	.byte	1
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc21:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp165-.Lfunc_begin0
	.quad	.Ltmp193-.Lfunc_begin0
	.short	2
	.byte	116
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp353-.Lfunc_begin0
	.short	2
	.byte	116
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc22:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp164-.Lfunc_begin0
	.quad	.Ltmp168-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	144
	.byte	1
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	144
	.byte	1
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	144
	.byte	1
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	144
	.byte	1
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	144
	.byte	1
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	144
	.byte	1
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc23:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp168-.Lfunc_begin0
	.quad	.Ltmp209-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp326-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp327-.Lfunc_begin0
	.quad	.Ltmp331-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp332-.Lfunc_begin0
	.quad	.Ltmp335-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp336-.Lfunc_begin0
	.quad	.Ltmp344-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp345-.Lfunc_begin0
	.quad	.Ltmp348-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp349-.Lfunc_begin0
	.quad	.Ltmp357-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp358-.Lfunc_begin0
	.quad	.Ltmp363-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp364-.Lfunc_begin0
	.quad	.Ltmp367-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp368-.Lfunc_begin0
	.quad	.Ltmp370-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp371-.Lfunc_begin0
	.quad	.Ltmp376-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp377-.Lfunc_begin0
	.quad	.Ltmp378-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	.Ltmp379-.Lfunc_begin0
	.quad	.Ltmp381-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc24:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp169-.Lfunc_begin0
	.quad	.Ltmp170-.Lfunc_begin0
	.short	2
	.byte	123
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	136
	.byte	1
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	136
	.byte	1
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	136
	.byte	1
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	136
	.byte	1
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	136
	.byte	1
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	136
	.byte	1
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc25:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp166-.Lfunc_begin0
	.quad	.Ltmp204-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp324-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp327-.Lfunc_begin0
	.quad	.Ltmp329-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp332-.Lfunc_begin0
	.quad	.Ltmp333-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp336-.Lfunc_begin0
	.quad	.Ltmp338-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp340-.Lfunc_begin0
	.quad	.Ltmp342-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp345-.Lfunc_begin0
	.quad	.Ltmp346-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp349-.Lfunc_begin0
	.quad	.Ltmp351-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp353-.Lfunc_begin0
	.quad	.Ltmp355-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp358-.Lfunc_begin0
	.quad	.Ltmp360-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp361-.Lfunc_begin0
	.quad	.Ltmp362-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp364-.Lfunc_begin0
	.quad	.Ltmp366-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp368-.Lfunc_begin0
	.quad	.Ltmp369-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	.Ltmp371-.Lfunc_begin0
	.quad	.Ltmp373-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc26:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp170-.Lfunc_begin0
	.quad	.Ltmp171-.Lfunc_begin0
	.short	2
	.byte	123
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	128
	.byte	1
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	128
	.byte	1
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	128
	.byte	1
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	128
	.byte	1
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	128
	.byte	1
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	128
	.byte	1
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc27:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp171-.Lfunc_begin0
	.quad	.Ltmp210-.Lfunc_begin0
	.short	2
	.byte	123
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp381-.Lfunc_begin0
	.short	2
	.byte	123
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc28:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp172-.Lfunc_begin0
	.quad	.Ltmp174-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	248
	.byte	0
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	248
	.byte	0
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	248
	.byte	0
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	248
	.byte	0
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	248
	.byte	0
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	248
	.byte	0
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc29:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp173-.Lfunc_begin0
	.quad	.Ltmp215-.Lfunc_begin0
	.short	2
	.byte	115
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp386-.Lfunc_begin0
	.short	2
	.byte	115
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc30:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp174-.Lfunc_begin0
	.quad	.Ltmp175-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	240
	.byte	0
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	240
	.byte	0
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	240
	.byte	0
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	240
	.byte	0
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	240
	.byte	0
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	240
	.byte	0
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc31:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp175-.Lfunc_begin0
	.quad	.Ltmp176-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp219-.Lfunc_begin0
	.short	3
	.byte	119
	.byte	0
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp389-.Lfunc_begin0
	.short	3
	.byte	119
	.byte	0
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc32:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp176-.Lfunc_begin0
	.quad	.Ltmp177-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	232
	.byte	0
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	232
	.byte	0
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	232
	.byte	0
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	232
	.byte	0
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	232
	.byte	0
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	232
	.byte	0
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc33:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp177-.Lfunc_begin0
	.quad	.Ltmp178-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp225-.Lfunc_begin0
	.short	3
	.byte	119
	.byte	16
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp396-.Lfunc_begin0
	.short	3
	.byte	119
	.byte	16
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc34:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp178-.Lfunc_begin0
	.quad	.Ltmp179-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	224
	.byte	0
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	224
	.byte	0
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	224
	.byte	0
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	224
	.byte	0
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	224
	.byte	0
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	224
	.byte	0
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc35:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp179-.Lfunc_begin0
	.quad	.Ltmp180-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp229-.Lfunc_begin0
	.short	3
	.byte	119
	.byte	8
	.byte	6
	.quad	.Ltmp229-.Lfunc_begin0
	.quad	.Ltmp231-.Lfunc_begin0
	.short	2
	.byte	123
	.byte	0
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp399-.Lfunc_begin0
	.short	3
	.byte	119
	.byte	8
	.byte	6
	.quad	.Ltmp399-.Lfunc_begin0
	.quad	.Ltmp401-.Lfunc_begin0
	.short	2
	.byte	123
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc36:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp180-.Lfunc_begin0
	.quad	.Ltmp181-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	216
	.byte	0
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	216
	.byte	0
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	216
	.byte	0
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	216
	.byte	0
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	216
	.byte	0
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	216
	.byte	0
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc37:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp181-.Lfunc_begin0
	.quad	.Ltmp182-.Lfunc_begin0
	.short	2
	.byte	124
	.byte	0
	.quad	.Ltmp182-.Lfunc_begin0
	.quad	.Ltmp265-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	168
	.byte	1
	.byte	6
	.quad	.Ltmp323-.Lfunc_begin0
	.quad	.Ltmp405-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	168
	.byte	1
	.byte	6
	.quad	.Ltmp406-.Lfunc_begin0
	.quad	.Ltmp410-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	168
	.byte	1
	.byte	6
	.quad	.Ltmp413-.Lfunc_begin0
	.quad	.Ltmp424-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	168
	.byte	1
	.byte	6
	.quad	.Ltmp425-.Lfunc_begin0
	.quad	.Ltmp443-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	168
	.byte	1
	.byte	6
	.quad	.Ltmp445-.Lfunc_begin0
	.quad	.Ltmp482-.Lfunc_begin0
	.short	4
	.byte	119
	.byte	168
	.byte	1
	.byte	6
	.quad	0
	.quad	0
.Ldebug_loc38:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin3-.Lfunc_begin0
	.quad	.Ltmp489-.Lfunc_begin0
	.short	1
	.byte	85
	.quad	.Ltmp489-.Lfunc_begin0
	.quad	.Lfunc_end3-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	85
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc39:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin3-.Lfunc_begin0
	.quad	.Ltmp490-.Lfunc_begin0
	.short	1
	.byte	84
	.quad	.Ltmp490-.Lfunc_begin0
	.quad	.Lfunc_end3-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	84
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc40:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin3-.Lfunc_begin0
	.quad	.Ltmp491-.Lfunc_begin0
	.short	1
	.byte	81
	.quad	.Ltmp491-.Lfunc_begin0
	.quad	.Lfunc_end3-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	81
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc41:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin3-.Lfunc_begin0
	.quad	.Ltmp492-.Lfunc_begin0
	.short	1
	.byte	82
	.quad	.Ltmp492-.Lfunc_begin0
	.quad	.Lfunc_end3-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	82
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc42:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin3-.Lfunc_begin0
	.quad	.Ltmp492-.Lfunc_begin0
	.short	1
	.byte	88
	.quad	.Ltmp492-.Lfunc_begin0
	.quad	.Lfunc_end3-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	88
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc43:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Lfunc_begin3-.Lfunc_begin0
	.quad	.Ltmp492-.Lfunc_begin0
	.short	1
	.byte	89
	.quad	.Ltmp492-.Lfunc_begin0
	.quad	.Lfunc_end3-.Lfunc_begin0
	.short	4
	.byte	243
	.byte	1
	.byte	89
	.byte	159
	.quad	0
	.quad	0
.Ldebug_loc44:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp487-.Lfunc_begin0
	.quad	.Ltmp489-.Lfunc_begin0
	.short	2
	.byte	117
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc45:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp487-.Lfunc_begin0
	.quad	.Ltmp490-.Lfunc_begin0
	.short	2
	.byte	116
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc46:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp487-.Lfunc_begin0
	.quad	.Ltmp491-.Lfunc_begin0
	.short	2
	.byte	113
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc47:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp487-.Lfunc_begin0
	.quad	.Ltmp492-.Lfunc_begin0
	.short	2
	.byte	114
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc48:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp487-.Lfunc_begin0
	.quad	.Ltmp492-.Lfunc_begin0
	.short	2
	.byte	120
	.byte	0
	.quad	0
	.quad	0
.Ldebug_loc49:
	.quad	-1
	.quad	.Lfunc_begin0
	.quad	.Ltmp487-.Lfunc_begin0
	.quad	.Ltmp492-.Lfunc_begin0
	.short	2
	.byte	121
	.byte	0
	.quad	0
	.quad	0
	.section	.debug_abbrev,"",@progbits
	.byte	1
	.byte	17
	.byte	1
	.byte	37
	.byte	14
	.byte	19
	.byte	5
	.byte	3
	.byte	14
	.byte	16
	.byte	23
	.byte	27
	.byte	14
	.ascii	"\264B"
	.byte	25
	.byte	17
	.byte	1
	.byte	85
	.byte	23
	.byte	0
	.byte	0
	.byte	2
	.byte	46
	.byte	1
	.byte	17
	.byte	1
	.byte	18
	.byte	6
	.byte	64
	.byte	24
	.byte	3
	.byte	14
	.byte	39
	.byte	25
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	3
	.byte	5
	.byte	0
	.byte	2
	.byte	23
	.byte	3
	.byte	14
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	4
	.byte	52
	.byte	0
	.byte	2
	.byte	23
	.byte	3
	.byte	14
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	5
	.byte	5
	.byte	0
	.byte	2
	.byte	24
	.byte	3
	.byte	14
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	6
	.byte	52
	.byte	0
	.byte	2
	.byte	24
	.byte	3
	.byte	14
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	7
	.byte	36
	.byte	0
	.byte	3
	.byte	14
	.byte	62
	.byte	11
	.byte	11
	.byte	11
	.byte	0
	.byte	0
	.byte	8
	.byte	15
	.byte	0
	.byte	0
	.byte	0
	.byte	9
	.byte	15
	.byte	0
	.byte	73
	.byte	19
	.byte	0
	.byte	0
	.byte	0
	.section	.debug_info,"",@progbits
.Lcu_begin0:
	.long	.Ldebug_info_end0-.Ldebug_info_start0
.Ldebug_info_start0:
	.short	4
	.long	.debug_abbrev
	.byte	8
	.byte	1
	.long	.Linfo_string0
	.short	2
	.long	.Linfo_string1
	.long	.Lline_table_start0
	.long	.Linfo_string2

	.quad	0
	.long	.Ldebug_ranges0
	.byte	2
	.quad	.Lfunc_begin0
	.long	.Lfunc_end0-.Lfunc_begin0
	.byte	5
	.byte	156
	.byte	17
	.ascii	"\220~"
	.byte	34
	.long	.Linfo_string3

	.long	848
	.byte	3
	.long	.Ldebug_loc0
	.long	.Linfo_string6
	.long	855
	.byte	3
	.long	.Ldebug_loc1
	.long	.Linfo_string7
	.long	855
	.byte	3
	.long	.Ldebug_loc2
	.long	.Linfo_string8
	.long	848
	.byte	3
	.long	.Ldebug_loc3
	.long	.Linfo_string9
	.long	855
	.byte	4
	.long	.Ldebug_loc4
	.long	.Linfo_string10
	.long	848
	.byte	4
	.long	.Ldebug_loc5
	.long	.Linfo_string11
	.long	848
	.byte	4
	.long	.Ldebug_loc6
	.long	.Linfo_string12
	.long	848
	.byte	4
	.long	.Ldebug_loc7
	.long	.Linfo_string13
	.long	848
	.byte	4
	.long	.Ldebug_loc8
	.long	.Linfo_string14
	.long	848
	.byte	4
	.long	.Ldebug_loc9
	.long	.Linfo_string15
	.long	848
	.byte	4
	.long	.Ldebug_loc10
	.long	.Linfo_string16
	.long	848
	.byte	4
	.long	.Ldebug_loc11
	.long	.Linfo_string17
	.long	848
	.byte	4
	.long	.Ldebug_loc12
	.long	.Linfo_string18
	.long	848
	.byte	4
	.long	.Ldebug_loc13
	.long	.Linfo_string19
	.long	848
	.byte	4
	.long	.Ldebug_loc14
	.long	.Linfo_string20
	.long	848
	.byte	4
	.long	.Ldebug_loc15
	.long	.Linfo_string21
	.long	856
	.byte	4
	.long	.Ldebug_loc16
	.long	.Linfo_string23
	.long	856
	.byte	4
	.long	.Ldebug_loc17
	.long	.Linfo_string24
	.long	848
	.byte	4
	.long	.Ldebug_loc18
	.long	.Linfo_string25
	.long	856
	.byte	4
	.long	.Ldebug_loc19
	.long	.Linfo_string26
	.long	856
	.byte	4
	.long	.Ldebug_loc20
	.long	.Linfo_string27
	.long	856
	.byte	4
	.long	.Ldebug_loc21
	.long	.Linfo_string28
	.long	856
	.byte	4
	.long	.Ldebug_loc22
	.long	.Linfo_string29
	.long	856
	.byte	4
	.long	.Ldebug_loc23
	.long	.Linfo_string30
	.long	856
	.byte	4
	.long	.Ldebug_loc24
	.long	.Linfo_string31
	.long	856
	.byte	4
	.long	.Ldebug_loc25
	.long	.Linfo_string32
	.long	856
	.byte	4
	.long	.Ldebug_loc26
	.long	.Linfo_string33
	.long	856
	.byte	4
	.long	.Ldebug_loc27
	.long	.Linfo_string34
	.long	856
	.byte	4
	.long	.Ldebug_loc28
	.long	.Linfo_string35
	.long	856
	.byte	4
	.long	.Ldebug_loc29
	.long	.Linfo_string36
	.long	856
	.byte	4
	.long	.Ldebug_loc30
	.long	.Linfo_string37
	.long	856
	.byte	4
	.long	.Ldebug_loc31
	.long	.Linfo_string38
	.long	856
	.byte	4
	.long	.Ldebug_loc32
	.long	.Linfo_string39
	.long	856
	.byte	4
	.long	.Ldebug_loc33
	.long	.Linfo_string40
	.long	856
	.byte	4
	.long	.Ldebug_loc34
	.long	.Linfo_string41
	.long	856
	.byte	4
	.long	.Ldebug_loc35
	.long	.Linfo_string42
	.long	856
	.byte	4
	.long	.Ldebug_loc36
	.long	.Linfo_string43
	.long	856
	.byte	4
	.long	.Ldebug_loc37
	.long	.Linfo_string44
	.long	856
	.byte	0
	.byte	2
	.quad	.Lfunc_begin3
	.long	.Lfunc_end3-.Lfunc_begin3
	.byte	1
	.byte	87
	.long	.Linfo_string5

	.long	848
	.byte	3
	.long	.Ldebug_loc38
	.long	.Linfo_string45
	.long	868
	.byte	3
	.long	.Ldebug_loc39
	.long	.Linfo_string47
	.long	880
	.byte	3
	.long	.Ldebug_loc40
	.long	.Linfo_string48
	.long	885
	.byte	3
	.long	.Ldebug_loc41
	.long	.Linfo_string50
	.long	880
	.byte	3
	.long	.Ldebug_loc42
	.long	.Linfo_string51
	.long	880
	.byte	3
	.long	.Ldebug_loc43
	.long	.Linfo_string52
	.long	868
	.byte	5
	.byte	3
	.byte	145
	.asciz	"\340"
	.long	.Linfo_string53
	.long	880
	.byte	5
	.byte	3
	.byte	145
	.asciz	"\350"
	.long	.Linfo_string54
	.long	868
	.byte	5
	.byte	3
	.byte	145
	.asciz	"\360"
	.long	.Linfo_string55
	.long	868
	.byte	5
	.byte	3
	.byte	145
	.asciz	"\370"
	.long	.Linfo_string24
	.long	848
	.byte	5
	.byte	3
	.byte	145
	.ascii	"\200\001"
	.long	.Linfo_string56
	.long	897
	.byte	4
	.long	.Ldebug_loc44
	.long	.Linfo_string45
	.long	868
	.byte	4
	.long	.Ldebug_loc45
	.long	.Linfo_string47
	.long	880
	.byte	4
	.long	.Ldebug_loc46
	.long	.Linfo_string48
	.long	885
	.byte	4
	.long	.Ldebug_loc47
	.long	.Linfo_string50
	.long	880
	.byte	4
	.long	.Ldebug_loc48
	.long	.Linfo_string51
	.long	880
	.byte	4
	.long	.Ldebug_loc49
	.long	.Linfo_string52
	.long	868
	.byte	6
	.byte	3
	.byte	145
	.asciz	"\340"
	.long	.Linfo_string53
	.long	880
	.byte	6
	.byte	3
	.byte	145
	.asciz	"\350"
	.long	.Linfo_string54
	.long	868
	.byte	6
	.byte	3
	.byte	145
	.asciz	"\360"
	.long	.Linfo_string55
	.long	868
	.byte	0
	.byte	7
	.long	.Linfo_string4
	.byte	5
	.byte	4
	.byte	8
	.byte	9
	.long	861
	.byte	7
	.long	.Linfo_string22
	.byte	5
	.byte	8
	.byte	9
	.long	873
	.byte	7
	.long	.Linfo_string46
	.byte	4
	.byte	4
	.byte	9
	.long	848
	.byte	9
	.long	890
	.byte	7
	.long	.Linfo_string49
	.byte	5
	.byte	1
	.byte	9
	.long	902
	.byte	7
	.long	.Linfo_string57
	.byte	7
	.byte	1
	.byte	0
.Ldebug_info_end0:
	.section	.debug_ranges,"",@progbits
.Ldebug_ranges0:
	.quad	.Lfunc_begin0
	.quad	.Lfunc_end0
	.quad	.Lfunc_begin3
	.quad	.Lfunc_end3
	.quad	0
	.quad	0
	.section	.debug_str,"MS",@progbits,1
.Linfo_string0:
	.asciz	"TVM"
.Linfo_string1:
	.asciz	"IRModule.CodeGenLLVM"
.Linfo_string2:
	.asciz	"."
.Linfo_string3:
	.asciz	"__tvm_ffi_main"
.Linfo_string4:
	.asciz	"int32"
.Linfo_string5:
	.asciz	"main_compute_"
.Linfo_string6:
	.asciz	"self_handle"
.Linfo_string7:
	.asciz	"args"
.Linfo_string8:
	.asciz	"num_args"
.Linfo_string9:
	.asciz	"result"
.Linfo_string10:
	.asciz	"XT.type_index"
.Linfo_string11:
	.asciz	"x_scale.type_index"
.Linfo_string12:
	.asciz	"x_zp.type_index"
.Linfo_string13:
	.asciz	"w_data.type_index"
.Linfo_string14:
	.asciz	"w_xt_offsets.type_index"
.Linfo_string15:
	.asciz	"w_slab_offsets.type_index"
.Linfo_string16:
	.asciz	"w_group_ptr.type_index"
.Linfo_string17:
	.asciz	"w_scale.type_index"
.Linfo_string18:
	.asciz	"w_row_sum.type_index"
.Linfo_string19:
	.asciz	"bias.type_index"
.Linfo_string20:
	.asciz	"Y.type_index"
.Linfo_string21:
	.asciz	"main.XT_shape"
.Linfo_string22:
	.asciz	"int64"
.Linfo_string23:
	.asciz	"main.XT_strides"
.Linfo_string24:
	.asciz	"dev_id"
.Linfo_string25:
	.asciz	"main.x_scale_shape"
.Linfo_string26:
	.asciz	"main.x_scale_strides"
.Linfo_string27:
	.asciz	"main.x_zp_shape"
.Linfo_string28:
	.asciz	"main.x_zp_strides"
.Linfo_string29:
	.asciz	"main.w_data_shape"
.Linfo_string30:
	.asciz	"main.w_data_strides"
.Linfo_string31:
	.asciz	"main.w_xt_offsets_shape"
.Linfo_string32:
	.asciz	"main.w_xt_offsets_strides"
.Linfo_string33:
	.asciz	"main.w_slab_offsets_shape"
.Linfo_string34:
	.asciz	"main.w_slab_offsets_strides"
.Linfo_string35:
	.asciz	"main.w_group_ptr_shape"
.Linfo_string36:
	.asciz	"main.w_group_ptr_strides"
.Linfo_string37:
	.asciz	"main.w_scale_shape"
.Linfo_string38:
	.asciz	"main.w_scale_strides"
.Linfo_string39:
	.asciz	"main.w_row_sum_shape"
.Linfo_string40:
	.asciz	"main.w_row_sum_strides"
.Linfo_string41:
	.asciz	"main.bias_shape"
.Linfo_string42:
	.asciz	"main.bias_strides"
.Linfo_string43:
	.asciz	"main.Y_shape"
.Linfo_string44:
	.asciz	"main.Y_strides"
.Linfo_string45:
	.asciz	"x_scale"
.Linfo_string46:
	.asciz	"float32"
.Linfo_string47:
	.asciz	"x_zp"
.Linfo_string48:
	.asciz	"w_data"
.Linfo_string49:
	.asciz	"int8"
.Linfo_string50:
	.asciz	"w_slab_offsets"
.Linfo_string51:
	.asciz	"w_group_ptr"
.Linfo_string52:
	.asciz	"w_scale"
.Linfo_string53:
	.asciz	"w_row_sum"
.Linfo_string54:
	.asciz	"bias"
.Linfo_string55:
	.asciz	"Y"
.Linfo_string56:
	.asciz	"XT"
.Linfo_string57:
	.asciz	"uint8"
	.section	.debug_pubnames,"",@progbits
	.long	.LpubNames_end0-.LpubNames_start0
.LpubNames_start0:
	.short	2
	.long	.Lcu_begin0
	.long	910
	.long	42
	.asciz	"__tvm_ffi_main"
	.long	564
	.asciz	"main_compute_"
	.long	0
.LpubNames_end0:
	.section	.debug_pubtypes,"",@progbits
	.long	.LpubTypes_end0-.LpubTypes_start0
.LpubTypes_start0:
	.short	2
	.long	.Lcu_begin0
	.long	910
	.long	848
	.asciz	"int32"
	.long	861
	.asciz	"int64"
	.long	873
	.asciz	"float32"
	.long	890
	.asciz	"int8"
	.long	902
	.asciz	"uint8"
	.long	0
.LpubTypes_end0:
	.section	".note.GNU-stack","",@progbits
	.section	.debug_line,"",@progbits
.Lline_table_start0:
