//! A command's state (`portcullis user|client|dualconfirm …`) runs nothing in the background:
//! no process-wide metrics recorder and its upkeep thread, one hashing thread. This test has
//! its own process, so the threads it counts are the state's alone.
#![allow(clippy::expect_used)]

use portcullis_server::config::Config;

/// The names of this process's threads once `settled` holds of them, or after two seconds:
/// a new thread shows its parent's name until it runs and names itself.
async fn settled_thread_names(settled: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut names = thread_names();
    for _ in 0..100 {
        if settled(&names) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        names = thread_names();
    }
    names
}

fn argon2(names: &[String]) -> usize {
    names.iter().filter(|n| n.starts_with("argon2-")).count()
}

fn thread_names() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_owned())
        .collect()
}

#[tokio::test]
async fn a_command_state_starts_no_background_work_and_a_server_state_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };

    let command = portcullis_server::command_state(config.clone())
        .await
        .expect("command state");
    let names = settled_thread_names(|names| argon2(names) == 1).await;
    assert!(!names.is_empty(), "threads are listed in /proc/self/task");
    assert!(!names.iter().any(|n| n == "metrics-upkeep"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.starts_with("argon2-")).count(),
        1,
        "{names:?}"
    );
    // It still does what a command needs: it reads the store.
    assert!(
        command
            .store()
            .accounts
            .list(10, 0)
            .await
            .expect("list")
            .is_empty()
    );

    // The control: a serving node's state starts both.
    let _serving = portcullis_server::build_state(config).await.expect("state");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let names = settled_thread_names(|names| {
        argon2(names) == 1 + cores && names.iter().any(|n| n == "metrics-upkeep")
    })
    .await;
    assert!(names.iter().any(|n| n == "metrics-upkeep"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.starts_with("argon2-")).count(),
        1 + cores,
        "{names:?}"
    );
}
