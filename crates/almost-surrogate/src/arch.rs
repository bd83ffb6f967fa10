//! Architectures: what sits between the fixed input and output normalisations.

use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::dense::Dense;
use crate::error::{Result, SurrogateError};

/// The `[architecture]` table of a fit config.
///
/// ```toml
/// [architecture]
/// kind = "mlp"            # or "one-layer"
/// hidden = [64, 64]       # mlp: widths of the hidden layers
/// activation = "tanh"     # tanh | softsign | silu | gelu | sigmoid | identity (default of a
///                         # whole architecture left out: softsign)
/// pair_products = false   # mlp: also feed x_i * A_i (each input times its own parameter;
///                         # parameters past the inputs' own enter plainly)
/// square_products = false # mlp: also feed x_i^2 * A_i (second order of each input line)
/// # one-layer: y = f_nl(Q . B + b), Q = all monomials of the normalised [x, A] up to `degree`
/// # degree = 3
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Architecture {
    /// Multi-layer perceptron.
    Mlp {
        /// Hidden layer widths.
        #[serde(default = "default_hidden")]
        hidden: Vec<usize>,
        /// Hidden activation.
        #[serde(default)]
        activation: Activation,
        /// Also feed the products x_i * A_i (normalised) of each input with its own parameter:
        /// the physics of a conductance, a synaptic weight or a drive amplitude. Needs as many
        /// parameters as inputs.
        #[serde(default)]
        pair_products: bool,
        /// Also feed x_i^2 * A_i (normalised): with `pair_products`, each input line's
        /// contribution A_i h(x_i) to second order in x_i, the even-order distortion of an
        /// almost-linear line. Needs as many parameters as inputs.
        #[serde(default)]
        square_products: bool,
    },
    /// The seed's one-layer form y = f_nl(Q . B + b) on polynomial features Q.
    OneLayer {
        /// Highest monomial degree in Q (1 = linear features).
        #[serde(default = "default_degree")]
        degree: usize,
        /// Output nonlinearity f_nl.
        #[serde(default)]
        activation: Activation,
    },
}

fn default_hidden() -> Vec<usize> {
    vec![64, 64]
}

fn default_degree() -> usize {
    3
}

impl Default for Architecture {
    fn default() -> Self {
        Self::Mlp {
            hidden: default_hidden(),
            activation: Activation::Softsign,
            pair_products: false,
            square_products: false,
        }
    }
}

impl Architecture {
    /// Short name for reports.
    pub fn describe(&self) -> String {
        match self {
            Self::Mlp { hidden, activation, pair_products, square_products } => {
                let products = match (pair_products, square_products) {
                    (true, true) => " with x*A and x^2*A products",
                    (true, false) => " with x*A products",
                    (false, true) => " with x^2*A products",
                    (false, false) => "",
                };
                format!("mlp {hidden:?} {activation:?}{products}").to_lowercase()
            }
            Self::OneLayer { degree, activation } => format!("one-layer degree {degree} {activation:?}").to_lowercase(),
        }
    }

    /// Multiply-adds of one evaluation for `n_x` inputs, `n_a` parameters and `n_y` outputs,
    /// as (per sample, per device): an MLP computes the parameter half of its first layer
    /// once per device and broadcasts it over the batch; the products x_i A_i and x_i^2 A_i
    /// depend on the sample, so they count per sample.
    pub fn multiply_adds(&self, n_x: usize, n_a: usize, n_y: usize) -> (usize, usize) {
        match self {
            Self::Mlp { hidden, pair_products, square_products, .. } => {
                let extra = n_x * (usize::from(*pair_products) + usize::from(*square_products));
                let Some(&first) = hidden.first() else { return ((n_x + extra) * n_y, n_a * n_y) };
                let inner: usize = hidden.windows(2).map(|w| w[0] * w[1]).sum();
                let last = hidden.last().copied().unwrap_or(first);
                ((n_x + extra) * first + inner + last * n_y, n_a * first)
            }
            Self::OneLayer { degree, .. } => (monomials(n_x + n_a, *degree).len() * n_y, 0),
        }
    }

    /// Rejects empty or zero-width layers and absurd degrees for `n_x` inputs and `n_a` parameters.
    pub fn validate(&self, n_x: usize, n_a: usize, origin: &str) -> Result<()> {
        let d_in = n_x + n_a;
        match self {
            Self::Mlp { pair_products, square_products, .. } if (*pair_products || *square_products) && n_a < n_x => {
                Err(SurrogateError::config(
                    origin,
                    format!(
                        "architecture.pair_products and square_products need one parameter per input; the device has \
                         {n_x} inputs and only {n_a} parameters"
                    ),
                ))
            }
            Self::Mlp { hidden, .. } if hidden.contains(&0) => {
                Err(SurrogateError::config(origin, "architecture.hidden has a layer of width 0"))
            }
            Self::OneLayer { degree, .. } if *degree == 0 || *degree > 4 => {
                Err(SurrogateError::config(origin, format!("architecture.degree = {degree} must lie in 1..=4")))
            }
            Self::OneLayer { degree, .. } if monomials(d_in, *degree).len() > 200_000 => Err(SurrogateError::config(
                origin,
                format!("architecture.degree = {degree} over {d_in} inputs gives too many features"),
            )),
            _ => Ok(()),
        }
    }

    /// Builds the body for `n_x` inputs, `n_a` parameters and `d_out` outputs.
    pub fn init(&self, n_x: usize, n_a: usize, d_out: usize, dtype: DType, device: &Device) -> Body {
        let d_in = n_x + n_a;
        match self {
            Self::Mlp { hidden, activation, pair_products, square_products } => {
                let pairs = if *pair_products { n_x } else { 0 };
                let squares = if *square_products { n_x } else { 0 };
                let mut widths = vec![d_in + pairs + squares];
                widths.extend(hidden);
                widths.push(d_out);
                let layers = widths.windows(2).map(|w| Dense::new(w[0], w[1], dtype, device)).collect();
                Body {
                    layers,
                    activation: *activation,
                    monomials: Vec::new(),
                    final_activation: false,
                    n_x,
                    pairs,
                    squares,
                }
            }
            Self::OneLayer { degree, activation } => {
                let monos = monomials(d_in, *degree);
                let layers = vec![Dense::new(monos.len(), d_out, dtype, device)];
                Body {
                    layers,
                    activation: *activation,
                    monomials: monos,
                    final_activation: true,
                    n_x,
                    pairs: 0,
                    squares: 0,
                }
            }
        }
    }
}

/// All monomials of `d` variables of degree 1..=`degree`, as sorted index lists.
pub fn monomials(d: usize, degree: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = (0..d).map(|i| vec![i]).collect();
    let mut last = out.clone();
    for _ in 1..degree {
        let mut next = Vec::new();
        for m in &last {
            let start = *m.last().unwrap_or(&0);
            for i in start..d {
                let mut m2 = m.clone();
                m2.push(i);
                next.push(m2);
            }
        }
        out.extend(next.iter().cloned());
        last = next;
    }
    out
}

/// The trainable part of a surrogate, in normalised coordinates.
#[derive(Module, Debug)]
pub struct Body {
    /// Dense layers, input to output.
    pub layers: Vec<Dense>,
    /// Hidden activation (MLP) or output nonlinearity f_nl (one-layer).
    #[module(skip)]
    pub activation: Activation,
    /// Monomial index lists of the one-layer form (empty for an MLP).
    #[module(skip)]
    pub monomials: Vec<Vec<usize>>,
    /// Whether the activation is applied after the last layer (one-layer form).
    #[module(skip)]
    pub final_activation: bool,
    /// Number of inputs x (the first columns of the input).
    #[module(skip)]
    pub n_x: usize,
    /// Number of x_i * A_i product features appended to the input (0 or n_x).
    #[module(skip)]
    pub pairs: usize,
    /// Number of x_i^2 * A_i features appended after them (0 or n_x).
    #[module(skip)]
    pub squares: usize,
}

impl Body {
    /// Applies the body.
    ///
    /// # Shapes
    /// - input: `[batch, d_in]` normalised [x, A]
    /// - output: `[batch, d_out]` normalised y
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let h = if !self.monomials.is_empty() {
            self.features(z)
        } else if self.pairs + self.squares > 0 {
            let [batch, _] = z.dims();
            let n = self.n_x;
            let zx = z.clone().slice([0..batch, 0..n]);
            let za = z.clone().slice([0..batch, n..2 * n]);
            let mut parts = vec![z];
            if self.pairs > 0 {
                parts.push(zx.clone() * za.clone());
            }
            if self.squares > 0 {
                parts.push(zx.clone() * zx * za);
            }
            Tensor::cat(parts, 1)
        } else {
            z
        };
        self.forward_from_first(h, None)
    }

    /// Runs the layers from the first one on `h`; `first_extra` is added to the first layer's
    /// pre-activation (used to fold in a precomputed parameter term).
    pub fn forward_from_first(&self, mut h: Tensor<2>, first_extra: Option<Tensor<2>>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if i == 0
                && let Some(extra) = &first_extra
            {
                h = h + extra.clone();
            }
            if i < last || self.final_activation {
                h = self.activation.apply(h);
            }
        }
        h
    }

    /// Polynomial features of the one-layer form.
    ///
    /// # Shapes
    /// - input: `[batch, d]`
    /// - output: `[batch, n_monomials]`
    fn features(&self, z: Tensor<2>) -> Tensor<2> {
        let device = z.device();
        let max_deg = self.monomials.iter().map(Vec::len).max().unwrap_or(1);
        let mut blocks = Vec::new();
        for deg in 1..=max_deg {
            let group: Vec<&Vec<usize>> = self.monomials.iter().filter(|m| m.len() == deg).collect();
            let mut product: Option<Tensor<2>> = None;
            for k in 0..deg {
                let idx: Vec<i64> = group.iter().map(|m| m[k] as i64).collect();
                let n = idx.len();
                let index = Tensor::<1, Int>::from_data(TensorData::new(idx, [n]), &device);
                let col = z.clone().select(1, index);
                product = Some(match product {
                    None => col,
                    Some(p) => p * col,
                });
            }
            blocks.extend(product);
        }
        Tensor::cat(blocks, 1)
    }

    /// Whether the first layer acts directly on the normalised inputs (so it can be split).
    pub fn is_mlp(&self) -> bool {
        self.monomials.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monomial_counts() {
        assert_eq!(monomials(3, 1).len(), 3);
        assert_eq!(monomials(3, 2).len(), 3 + 6);
        assert_eq!(monomials(4, 3).len(), 4 + 10 + 20);
    }

    #[test]
    fn toml_architecture_rejects_unknown_keys() {
        let a: Architecture = toml::from_str("kind = \"mlp\"\nhidden = [8]\n").unwrap();
        assert_eq!(
            a,
            Architecture::Mlp {
                hidden: vec![8],
                activation: Activation::Tanh,
                pair_products: false,
                square_products: false
            }
        );
        let err = toml::from_str::<Architecture>("kind = \"mlp\"\nhiden = [8]\n").unwrap_err().to_string();
        assert!(err.contains("hiden"), "{err}");
        assert!(Architecture::OneLayer { degree: 9, activation: Activation::Tanh }.validate(2, 2, "c").is_err());
        let mlp = Architecture::Mlp {
            hidden: vec![4],
            activation: Activation::Tanh,
            pair_products: true,
            square_products: false,
        };
        assert!(mlp.validate(3, 2, "c").unwrap_err().to_string().contains("one parameter per input"));
        assert!(mlp.validate(3, 4, "c").is_ok(), "a conditioned device's extra parameter enters plainly");
    }

    #[test]
    fn multiply_adds_split_the_first_layer() {
        let mlp = Architecture::Mlp {
            hidden: vec![64, 32],
            activation: Activation::Softsign,
            pair_products: true,
            square_products: false,
        };
        // 16 inputs + 16 products into 64, 64 x 32, 32 x 1; the 16 parameters once per device
        assert_eq!(mlp.multiply_adds(16, 16, 1), (32 * 64 + 64 * 32 + 32, 16 * 64));
        let one = Architecture::OneLayer { degree: 1, activation: Activation::Tanh };
        assert_eq!(one.multiply_adds(2, 2, 1).0, monomials(4, 1).len());
    }
}
