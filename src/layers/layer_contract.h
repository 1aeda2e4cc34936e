#pragma once
// The contract every layer in src/layers follows.
//
//  * Setup: the constructor receives the input shape, registers its parameters in a ParamSet
//    and fixes its output shape. Dimensions are derived, never configured by hand.
//  * Weights apart from scratch: a layer object holds only parameter ids and sizes; the
//    parameter values live in the shared ParamSet (read-only during forward/backward), and
//    everything a pass writes lives in caller-owned buffers (a per-thread Workspace).
//  * forward(params, input..., output...) reads `b` rows of input views and writes the output
//    views; it never allocates. Buffers are sized once for the largest batch and viewed with
//    topRows(b).
//  * backward(params, saved forward values, d_output, d_input, grads) writes (overwrites) the
//    input gradient and *accumulates* (+=) parameter gradients into the thread's Gradients.
//    A null d_input means the caller needs no input gradient.
//  * Every layer with a backward pass has a finite-difference test in tests/layers, and a
//    naive reference implementation beside any fused or optimized one.
