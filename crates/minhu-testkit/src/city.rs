//! The demo city (`demo/city` at the repository's root), the configuration every
//! test runs on, and the demo province around it (`demo/province`).

use minhu_core::City;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The demo city's configuration directory.
pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/city")
}

/// The demo city, loaded.
pub fn demo_city() -> Arc<City> {
    Arc::new(minhu_config::load_city(&demo_dir()).expect("the demo city loads"))
}

/// The demo province (`demo/province`): A市 as the demo city and the other cities the
/// real messages name.
pub fn demo_province() -> Arc<minhu_core::Province> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/province");
    Arc::new(minhu_config::load_province(&dir).expect("the demo province loads"))
}

/// A copy of the demo city's configuration in `dir/city`, for a test to change.
pub fn copy_of_demo_city(dir: &Path) -> PathBuf {
    let copy = dir.join("city");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(demo_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
        }
    }
    copy
}
