"""Vocabularies for values: religion, health, specific identity, gender, surnames, places.

Terms are whole words or phrases, never single characters, and carry guards where a term
hides inside an unrelated word: 基督山伯爵 (a novel) and 佛山 (a city) do not match religion,
报道教育 does not match 道教, 血压计 (a product) does not match health.
"""

from __future__ import annotations

import re

__all__ = [
    "ADMIN_SUFFIX",
    "CITIES",
    "COMPOUND_SURNAMES",
    "GENDER_VALUES",
    "HEALTH",
    "IDENTITY",
    "PROVINCES",
    "RELIGION",
    "SURNAMES",
]


def _terms(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.IGNORECASE)


RELIGION = _terms(
    "佛教",
    "基督教",
    "基督徒",
    "天主教",
    "伊斯兰教",
    "穆斯林",
    "(?<![报知街频通轨渠管车赛大])道教(?![育学练师材室])",
    "信佛",
    "信基督",
    "信主",
    "信教",
    "受洗",
    "做礼拜",
    "佛教徒",
    "吃斋念佛",
    "烧香拜佛",
    "宗教信仰",
    "无神论",
    "清真寺",
    "犹太教",
    "印度教",
    "东正教",
    "藏传佛教",
    "皈依",
    r"(?<![a-z])(?:buddhis[mt]|christianity|catholic|muslim|islam|taoism|hinduism|judaism"
    r"|atheist)(?![a-z])",
)

HEALTH = _terms(
    "糖尿病",
    "高血压",
    "低血压",
    "心脏病",
    "冠心病",
    "癌症",
    "肿瘤",
    "白血病",
    "化疗",
    "放疗",
    "怀孕",
    "孕期",
    "备孕",
    "哺乳期",
    "流产",
    "过敏",
    "哮喘",
    "抑郁",
    "焦虑症",
    "失眠症",
    "精神分裂",
    "癫痫",
    "病史",
    "手术",
    "住院",
    "慢性病",
    "高血脂",
    "痛风",
    "甲亢",
    "甲减",
    "乙肝",
    "肝炎",
    "艾滋",
    "确诊",
    "诊断",
    "处方",
    "服药",
    "病历",
    "心血管",
    "中风",
    "脑梗",
    "关节炎",
    "骨折",
    "肾病",
    "胃炎",
    "血糖(?![仪试])",
    "血压(?![计仪])",
    "胆固醇",
    r"(?<![a-z])(?:diabet(?:es|ic)|hypertension|pregnan(?:t|cy)|cancer|asthma|allerg(?:y|ic)"
    r"|depression|hiv|hepatitis|surgery|hospitali[sz]ed|diagnos(?:is|ed)|chronic)(?![a-z])",
)

IDENTITY = _terms(
    "党员",
    "共青团员",
    "民主党派",
    "军人",
    "现役",
    "退伍",
    "复员",
    "军属",
    "烈属",
    "残疾",
    "低保",
    "特困",
    "五保户",
    "贫困户",
    "建档立卡",
    "优抚对象",
    "刑满释放",
    "服刑",
    "失信被执行人",
    r"(?<![a-z])(?:veteran|disabled|disability|party member)(?![a-z])",
)

GENDER_VALUES = frozenset(
    {"男", "女", "男性", "女性", "先生", "女士", "m", "f", "male", "female", "man", "woman"}
)

SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "长孙",
    "宇文", "司徒", "夏侯", "独孤", "端木", "南宫", "西门",
)  # fmt: skip

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
    "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港",
    "澳门",
)  # fmt: skip

CITIES = (
    "北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京", "苏州", "成都", "武汉",
    "西安", "长沙", "郑州", "青岛", "济南", "厦门", "福州", "宁波", "无锡", "合肥", "昆明",
    "南昌", "贵阳", "南宁", "太原", "石家庄", "沈阳", "大连", "长春", "哈尔滨", "兰州",
    "乌鲁木齐", "呼和浩特", "银川", "西宁", "拉萨", "海口", "三亚", "东莞", "佛山", "珠海",
    "中山", "惠州", "温州", "绍兴", "嘉兴", "金华", "台州", "常州", "南通", "徐州", "扬州",
    "烟台", "潍坊", "泉州", "洛阳", "宜昌", "襄阳", "株洲", "岳阳", "绵阳", "桂林", "柳州",
)  # fmt: skip

ADMIN_SUFFIX = ("省", "市", "区", "县", "州", "镇", "乡", "村", "旗", "盟")
