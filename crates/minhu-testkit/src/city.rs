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

fn province_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/province")
}

/// The demo province (`demo/province`): A市 as the demo city and the other cities the
/// real messages name.
pub fn demo_province() -> Arc<minhu_core::Province> {
    let dir = province_dir();
    Arc::new(minhu_config::load_province(&dir).expect("the demo province loads"))
}

/// Each city's Open311 services where `province` is the demo province (several
/// cities); none for the demo city alone.
pub fn demo_services(
    province: &minhu_core::Province,
) -> std::collections::HashMap<minhu_core::ids::CityId, Arc<minhu_core::services::ServiceCatalog>> {
    let dir = province_dir();
    if !province.has_several_cities() {
        return Default::default();
    }
    province
        .cities()
        .iter()
        .map(|entry| {
            let catalog = minhu_config::load_city_services(&dir, province, &entry.id)
                .expect("the demo province's services load");
            (entry.id.clone(), Arc::new(catalog))
        })
        .collect()
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

/// A copy of the demo province beside a copy of the demo city (`dir/province`, whose
/// links into `../city` then reach the copy); returns the home city's directory,
/// `dir/province/cities/A`, as a server started on the province edits it.
pub fn copy_of_demo_province(dir: &Path) -> PathBuf {
    copy_of_demo_city(dir);
    copy_tree(&province_dir(), &dir.join("province"));
    dir.join("province").join("cities").join("A")
}

/// Copies `from` into `to`, keeping symbolic links as links.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&path).unwrap(), &target).unwrap();
        } else if meta.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
