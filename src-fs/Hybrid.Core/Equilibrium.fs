/// Exact equilibria of linear chains (SPEC.md 1.4), the oracle that inference
/// is tested and measured against. For a chain of plain linear blocks
/// mu_l = W_l h_{l-1} + b_l with a squared-error output, F is quadratic in the
/// hidden states and its minimum solves the block-tridiagonal system
///
///     (I + W_{l+1}^T W_{l+1}) h_l - W_l h_{l-1} - W_{l+1}^T h_{l+1} = r_l.
module Hybrid.Equilibrium

open TorchSharp

/// True when every block is a plain linear map (identity activations, no
/// residual, unit scale) and the output term is a squared error.
let isLinearChain (net: Network) =
    net.Loss = Loss.SquaredError
    && net.Blocks
       |> Array.forall (fun b ->
           match b.Kind with
           | BlockKind.Dense(Activation.Identity, Activation.Identity, 1.0, false) -> true
           | _ -> false)

let private requireLinear (net: Network) =
    if not (isLinearChain net) then
        invalidArg "net" "the closed-form equilibrium needs a linear chain: identity activations, no residual blocks or scalings, squared-error output"

/// Offsets of the hidden layers in the stacked state vector, and its size.
let private layout (net: Network) =
    let widths = [| for l in 1 .. net.Depth - 1 -> int64 (Array.fold (*) 1L (net.StateShape l)) |]
    let offsets = Array.scan (+) 0L widths
    widths, offsets

/// The Hessian of F with respect to the stacked hidden states (the same for every sample).
let hessian (net: Network) : torch.Tensor =
    requireLinear net
    let widths, offsets = layout net
    let n = offsets[offsets.Length - 1]
    let dtype = net.Precision.ScalarType
    let H = torch.zeros([| n; n |], dtype = dtype, device = net.Device)
    use _ = torch.no_grad ()
    for i in 0 .. widths.Length - 1 do
        // Hidden layer l = i + 1; W_{l+1} is block l (0-based index i + 1).
        let above = net.Blocks[i + 1].Weight :> torch.Tensor
        let diag = torch.eye(widths[i], dtype = dtype, device = net.Device) + above.t().mm(above)
        H.narrow(0L, offsets[i], widths[i]).narrow(1L, offsets[i], widths[i]).copy_(diag) |> ignore
        if i + 1 < widths.Length then
            H.narrow(0L, offsets[i], widths[i]).narrow(1L, offsets[i + 1], widths[i + 1]).copy_(-above.t()) |> ignore
            H.narrow(0L, offsets[i + 1], widths[i + 1]).narrow(1L, offsets[i], widths[i]).copy_(-above) |> ignore
    H

/// The right-hand side r (one row per sample).
let private rhs (net: Network) (x: torch.Tensor) (y: torch.Tensor) =
    let widths, _ = layout net
    let L = net.Depth
    let bias l = match net.Blocks[l].Bias with Some b -> b :> torch.Tensor | None -> torch.zeros([| int64 (Array.fold (*) 1L net.Blocks[l].OutShape) |], dtype = net.Precision.ScalarType, device = net.Device)
    let parts =
        [| for i in 0 .. widths.Length - 1 ->
               // Layer l = i + 1: b_l (+ W_1 x for l = 1), minus W_{l+1}^T b_{l+1}, plus W_L^T y at the top.
               let own = bias i
               let fromBelow = if i = 0 then torch.nn.functional.linear(x, net.Blocks[0].Weight, null) else torch.zeros_like(own).unsqueeze(0L)
               let W = net.Blocks[i + 1].Weight :> torch.Tensor
               let top =
                   if i + 1 = L - 1 then (y - bias (i + 1)).mm(W)
                   else (-(bias (i + 1))).unsqueeze(0L).mm(W)
               (own.unsqueeze(0L) + fromBelow + top).expand(x.shape[0], -1L) |]
    torch.cat(parts, 1L)

/// The exact equilibrium states (L entries, the input first) of a linear chain
/// for inputs `x` and the clamped target `y`. (With the output free the
/// equilibrium is the forward pass.)
let linear (net: Network) (x: torch.Tensor) (y: torch.Tensor) : torch.Tensor[] =
    requireLinear net
    use _ = torch.no_grad ()
    let widths, offsets = layout net
    let H = hessian net
    let r = rhs net x y
    let h = torch.linalg.solve(H, r.t()).t()
    Array.append [| x |] [| for i in 0 .. widths.Length - 1 -> h.narrow(1L, offsets[i], widths[i]).contiguous() |]

/// The map from errors to states of the perturbed forward pass is h = B^{-1}(e + c)
/// with B unit lower block-bidiagonal (identity blocks, -W_l below the diagonal).
/// Returns B, so that the Hessian of ePC's energy is B^{-T} H B^{-1}.
let errorMap (net: Network) : torch.Tensor =
    requireLinear net
    let widths, offsets = layout net
    let n = offsets[offsets.Length - 1]
    let dtype = net.Precision.ScalarType
    let B = torch.eye(n, dtype = dtype, device = net.Device)
    use _ = torch.no_grad ()
    for i in 1 .. widths.Length - 1 do
        B.narrow(0L, offsets[i], widths[i]).narrow(1L, offsets[i - 1], widths[i - 1]).copy_(-(net.Blocks[i].Weight :> torch.Tensor)) |> ignore
    B

/// Largest eigenvalues of the sPC and ePC energies' Hessians: (sPC, ePC).
/// Gradient descent is stable below 2 / lambda_max.
let curvatures (net: Network) : float * float =
    use _ = torch.NewDisposeScope()
    let H = hessian net
    let Binv = torch.linalg.inv(errorMap net)
    let He = Binv.t().mm(H).mm(Binv)
    let top (m: torch.Tensor) = Scope.scalar (torch.linalg.eigvalsh(Ops.mul (m + m.t()) 0.5).max())
    top H, top He

/// Relative distance ||h - h*|| / ||h*|| over all hidden layers.
let distance (states: torch.Tensor[]) (exact: torch.Tensor[]) : float =
    use _ = torch.NewDisposeScope()
    let flat (s: torch.Tensor[]) = torch.cat(s[1..] |> Array.map (fun t -> t.reshape(t.shape[0], -1L)), 1L)
    let a = flat states
    let b = flat exact
    Scope.scalar ((a - b).norm()) / max (Scope.scalar (b.norm())) 1e-300
