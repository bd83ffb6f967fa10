//! `almost-train bench modes`: cost of one training epoch in each mode on the same network,
//! each against the surrogate epoch, the throughput of evaluating it on the physics (device
//! solves per second), and the floors of the physics-aware epoch (the surrogate epoch plus
//! the epoch's device solves at their floor) and of the exact epoch (its forward-sensitivity
//! solves at their floor), priced at the network's own operating points; a floor is one
//! thread's, its solves shared evenly by the threads the epochs run on.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use almost_net::{Mode, NetConfig, NominalHardware, TrainOptions, train};

use almost_sim::floor::Floor;

use crate::bench::operating::{Recording, floor_seconds_per_image};

/// Trains `images` images (one epoch of that size) in each mode and prints seconds per image,
/// the extrapolated cost of an epoch over the whole training set and each mode's cost over
/// the surrogate epoch's; then the physics evaluation and the physics-aware epoch's floor.
pub fn run(config: &Path, init: Option<&Path>, images: usize, work: &Path) -> Result<()> {
    let base = NetConfig::load(config)?;
    let full = almost_net::data::images::load(&base.data)?.0.len();
    println!(
        "{:<14} {:>8} {:>10} {:>14} {:>12} {:>16}",
        "mode",
        "images",
        "seconds",
        "ms per image",
        "x surrogate",
        "epoch of {full} (s)".replace("{full}", &full.to_string())
    );
    let mut times = Vec::new();
    for mode in [Mode::Surrogate, Mode::PhysicsAware, Mode::Exact] {
        let mut cfg = base.clone();
        cfg.training.mode = mode;
        cfg.training.epochs = 1;
        cfg.training.train_images = images;
        cfg.training.eval_images = 1;
        cfg.training.init = init.map(Path::to_path_buf);
        cfg.training.probe_images = 0;
        let run = work.join(format!("bench-mode-{mode}"));
        let _ = std::fs::remove_dir_all(&run);
        let t = Instant::now();
        let trained =
            train(&cfg, &run, &TrainOptions { progress: true, skip_physics_check: true, ..Default::default() })?;
        // the epoch's own time, without building the network and the hardware
        let seconds = trained.history.last().map_or(t.elapsed().as_secs_f64(), |h| h.seconds);
        let surrogate = times.first().copied().unwrap_or(seconds);
        println!(
            "{:<14} {:>8} {:>10.2} {:>14.2} {:>12.1} {:>16.0}",
            mode.to_string(),
            images,
            seconds,
            1e3 * seconds / images as f64,
            seconds / surrogate,
            seconds / images as f64 * full as f64
        );
        times.push(seconds);
        let _ = std::fs::remove_dir_all(&run);
    }
    physics_throughput(&base, init, images, (times[0], times[1], times[2]))
}

/// Evaluates the network (the `init` run's, else freshly initialised) on the physics of
/// `images` test images and prints the device solves per second; then every layer's solve
/// and forward-sensitivity solve against their floors at the points that evaluation drove it
/// to, the floor of a physics-aware epoch of `images` images (the surrogate epoch plus one
/// solve per device and image at its floor) and that of an exact epoch (one sensitivity
/// solve per device and image at its floor), next to the measured ones (`epochs`:
/// surrogate, physics-aware and exact seconds).
fn physics_throughput(base: &NetConfig, init: Option<&Path>, images: usize, epochs: (f64, f64, f64)) -> Result<()> {
    let device = burn::tensor::Device::flex();
    let dtype = burn::tensor::DType::F32;
    let (network, test) = match init {
        Some(run) => {
            let loaded = almost_net::load_run(run, dtype, &device)?;
            (loaded.network, loaded.test)
        }
        None => {
            let (train_set, test) = almost_net::data::images::load(&base.data)?;
            let input = almost_net::MapShape { height: train_set.rows, width: train_set.cols, channels: 1 };
            (almost_net::build(base, input, dtype, &device)?, test)
        }
    };
    let nominal = NominalHardware::from_metas(&network.metas()?)?;
    let recording = Recording::new(&nominal);
    let report = almost_net::evaluate(&network, &recording, &test, images, base.hardware.bits, true);
    println!(
        "physics evaluation: {} test images, {} device calls in {:.2} s = {:.0} calls/s ({:.1} ms per image){}",
        report.images,
        report.solves,
        report.seconds,
        report.solves_per_second,
        1e3 * report.seconds / report.images.max(1) as f64,
        report.distinct_line()
    );
    let floors = recording.floors(3)?;
    println!(
        "\nthe devices at the network's operating points (one thread; floor = evaluations x their cost):\n{:<6} {:<14} {:>8} {:>10} {:>10} {:>10} {:>12}",
        "layer", "device", "devices", "rhs/solve", "floor us", "lanes us", "lanes/floor"
    );
    let devices: Vec<usize> = network.layers.iter().map(|l| l.devices()).collect();
    let kinds: Vec<String> = nominal.devices.iter().map(|d| d.spec().kind.clone()).collect();
    for (l, floor) in floors.iter().enumerate() {
        print_floor(l, &kinds[l], devices[l], floor.solve.as_ref());
    }
    println!(
        "forward-sensitivity solves (the exact mode's; an evaluation is the states' and every sensitivity's right-hand side):"
    );
    for (l, floor) in floors.iter().enumerate() {
        print_floor(l, &kinds[l], devices[l], floor.sens.as_ref());
    }
    let (surrogate, physics_aware, exact) = epochs;
    let solves = images * devices.iter().sum::<usize>();
    // the floors are one thread's; the epochs spread their solves over the whole pool
    let threads = rayon::current_num_threads().max(1);
    let per_image = |sens: bool| {
        let layers: Vec<Option<&Floor>> =
            floors.iter().map(|f| if sens { f.sens.as_ref() } else { f.solve.as_ref() }).collect();
        floor_seconds_per_image(&devices, &layers).map(|s| s * images as f64 / threads as f64)
    };
    // a physics-aware step is the physics forward pass, then the surrogates' backward pass
    let physics_aware_floor = per_image(false).map(|s| s + surrogate);
    print_epoch(
        "physics-aware",
        images,
        (physics_aware, surrogate),
        physics_aware_floor,
        &format!("the surrogate epoch + {solves} solves on {threads} thread(s) with the dataset's solver"),
    );
    if base.training.physics_solver.method != almost_net::PhysicsMethod::Dataset {
        println!(
            "  (the epoch's forward passes were solved with {} where its check above accepted it: this floor prices the dataset's solver, which that replaces)",
            base.training.physics_solver.describe()
        );
    }
    let sens = format!("{solves} sensitivity solves on {threads} thread(s)");
    print_epoch("exact", images, (exact, surrogate), per_image(true), &sens);
    println!(
        "  (both floors price every device call; the epochs solve a device's repeated inputs within a batch once, as the evaluation above solved {:.1}% of its calls)",
        100.0 * report.distinct_solves as f64 / report.solves.max(1) as f64
    );
    Ok(())
}

/// The line of one mode's epoch of `images` images: its `measured` seconds and its `floor`
/// (`what` it is made of, at their floor), each over the `surrogate` epoch.
fn print_epoch(mode: &str, images: usize, (measured, surrogate): (f64, f64), floor: Option<f64>, what: &str) {
    match floor {
        Some(floor) => println!(
            "{mode} epoch of {images} images: {measured:.2} s measured, {:.1}x the surrogate epoch; \
             its floor ({what} at their floor) {floor:.2} s, {:.1}x the surrogate epoch",
            measured / surrogate,
            floor / surrogate
        ),
        None => println!("{mode} epoch: no floor (a layer's device cannot be priced)"),
    }
}

/// One row of the floors' tables: layer `l`'s `count` devices of kind `kind`.
fn print_floor(l: usize, kind: &str, count: usize, floor: Option<&Floor>) {
    match floor {
        Some(f) => println!(
            "{l:<6} {kind:<14} {count:>8} {:>10.1} {:>10.2} {:>10.2} {:>12.2}",
            f.rhs_per_solve,
            f.floor_us(),
            f.batch_us,
            f.batch_ratio()
        ),
        None => println!("{l:<6} {kind:<14} {count:>8} (no floor: its evaluations cannot be counted)"),
    }
}
