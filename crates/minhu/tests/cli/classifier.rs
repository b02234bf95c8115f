//! `minhu train` then `minhu eval` on a small labelled fixture: the contract scripts use.

use std::process::Command;

const TRAIN: &str = "留言编号,留言用户,留言主题,留言时间,留言详情,一级分类
1,,,,小区 路灯 坏了 物业 不修,城乡建设
2,,,,物业 乱收 停车费,城乡建设
3,,,,楼下 违章建筑 占用 消防通道,城乡建设
4,,,,小区 电梯 经常 停运 物业 不管,城乡建设
5,,,,公司 拖欠工资 三个月 不发,劳动和社会保障
6,,,,社保 断缴 怎么 补缴,劳动和社会保障
7,,,,农民工 工资 被 包工头 拖欠,劳动和社会保障
8,,,,退休 养老金 迟迟 没有 到账,劳动和社会保障
9,,,,学校 强制 学生 购买 教辅 资料,教育文体
10,,,,幼儿园 乱收费,教育文体
11,,,,老师 周末 有偿 补课,教育文体
12,,,,孩子 上学 学位 不够,教育文体
";

const TEST: &str = "留言编号,留言用户,留言主题,留言时间,留言详情,一级分类
21,U1,公司拖欠工资,2020/1/4 11:17:46,我们公司拖欠工资半年了，请劳动部门处理。,劳动和社会保障
22,U2,物业不作为,2020/1/5 09:00:00,小区物业不修路灯，电梯也坏了。,城乡建设
23,U3,学校乱收费,2020/1/6 10:00:00,学校要求学生购买教辅资料。,教育文体
";

fn minhu(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_minhu"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{args:?}: {text}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn train_then_eval_prints_the_scores_last() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test, model) = (
        dir.path().join("train.csv"),
        dir.path().join("test.csv"),
        dir.path().join("model.bin"),
    );
    std::fs::write(&train, TRAIN).unwrap();
    std::fs::write(&test, TEST).unwrap();
    let trained = minhu(&[
        "train",
        "--data",
        train.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(trained.contains("trained on 12 messages"), "{trained}");
    let scored = minhu(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        test.to_str().unwrap(),
    ]);
    let last = scored.lines().last().unwrap();
    assert_eq!(last, "macro_f1=1.0000 accuracy=1.0000 n=3", "{scored}");
}
