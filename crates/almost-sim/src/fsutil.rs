//! Atomic file writes: a reader sees the old file or the complete new one, never a torn one.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, SimError};

/// Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename, fsync folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by `fill` writing into the temp file.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut File) -> std::io::Result<()>) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        fill(&mut f)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            // directory fsync makes the rename durable; not supported everywhere, so best effort
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        SimError::io(path, e)
    })
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| SimError::bad_file(path, e.to_string()))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads and parses a TOML file; a missing file and a parse error (unknown key, wrong type,
/// with its line) both name the file. The one TOML reader of the workspace.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| SimError::io(path, e))?;
    toml::from_str(&text).map_err(|e| SimError::Toml { path: path.to_path_buf(), message: e.to_string() })
}

/// Reads and parses a JSON file, naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| SimError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| SimError::bad_file(path, format!("invalid JSON: {e}")))
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
    }
}

/// The one rule for relative paths: a path written in a file is relative to the folder of
/// that file (`config`); absolute paths are kept. `a/b/../c` is shortened to `a/c` (lexically,
/// without touching the file system), so messages show the path a person would write.
pub fn relative_to_file(config: &Path, path: &Path) -> std::path::PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let joined = config.parent().unwrap_or(Path::new("")).join(path);
    let mut out = std::path::PathBuf::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir
                if matches!(out.components().next_back(), Some(std::path::Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() { std::path::PathBuf::from(".") } else { out }
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn paths_in_a_file_resolve_against_its_folder() {
        let cfg = Path::new("simulations/networks/digits.toml");
        assert_eq!(relative_to_file(cfg, Path::new("../../models/m")), Path::new("models/m"));
        assert_eq!(relative_to_file(cfg, Path::new("./local")), Path::new("simulations/networks/local"));
        assert_eq!(relative_to_file(cfg, Path::new("/abs/x")), Path::new("/abs/x"));
        assert_eq!(relative_to_file(Path::new("net.toml"), Path::new("../up")), Path::new("../up"));
        assert_eq!(relative_to_file(Path::new("a/net.toml"), Path::new("..")), Path::new("."));
    }
}
