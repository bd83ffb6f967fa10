//! The default fit chooses among its candidates on the validation split: for a device whose
//! input lines distort at second order (the closed form with eps = 1) it keeps the x_i^2 A_i
//! products, which fit it several times better than x_i A_i alone on the held-out split.

#![allow(clippy::unwrap_used)]

use almost_sim::{Dataset, GenerateConfig, GenerateOptions, generate};
use almost_surrogate::choose::choose_default;
use almost_surrogate::{Architecture, FitConfig, FitOptions, fit};

#[test]
fn the_default_fit_keeps_the_candidate_that_validates_best() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "name = \"an\"\n[device]\nkind = \"analytic\"\nfan_in = 3\neps = 1.0\n[design]\nkind = \"sobol\"\nsamples = 3000\nseed = 4\n";
    let cfg: GenerateConfig = toml::from_str(text).unwrap();
    generate(&cfg.resolve("test").unwrap(), tmp.path(), &GenerateOptions::default()).unwrap();
    let ds = Dataset::load(tmp.path()).unwrap();
    let (chosen, trials) = choose_default(&ds, &almost_surrogate::FitOptions::default()).unwrap();
    assert_eq!(trials.len(), 2);
    assert!(matches!(chosen.architecture, Architecture::Mlp { square_products: true, .. }), "{trials:?}");
    assert!(trials[1].val_loss < trials[0].val_loss, "{trials:?}");
    // and on the test split, which the choice never saw, it is the better fit too
    let held_out = |c: &FitConfig| {
        let mut c = c.clone();
        c.report.gradient_points = 0;
        fit(&ds, &c, None, &FitOptions::default()).unwrap().report.outputs[0].relative_rmse
    };
    let candidates = FitConfig::candidates(3, 3);
    let (plain, squares) = (held_out(&candidates[0]), held_out(&candidates[1]));
    assert!(squares < 0.5 * plain, "x^2 A products {squares}, without {plain}");
    // a device with fewer parameters than inputs has one candidate, returned untried
    assert_eq!(FitConfig::candidates(3, 2).len(), 1);
}
