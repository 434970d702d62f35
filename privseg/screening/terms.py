"""Free-text vocabularies of the sensitive categories, after the national catalogues.

One pattern per Art. 28 class of GB/T 45574-2025 Annex A (plus its "other" class, with the
matching items of GB/T 35273-2020 Table B.2). Terms are phrases, never single characters:
佛跳墙, 佛山 and 佛系 hold no religious term, 吃素 alone is a diet. Before matching,
:data:`NOT_MENTIONS` blanks spans that name a thing rather than say something about a person:
titles in 《》 (《穆斯林的葬礼》), occupations (病历管理师, 营养师) and products whose name
holds a term (血压计, 抗过敏牙膏).
"""

from __future__ import annotations

import re

from privseg.taxonomy import Category

__all__ = ["CHILD_AGE", "NOT_MENTIONS", "TERMS"]

_HAN = "[\u4e00-\u9fff]"


def _terms(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.IGNORECASE)


NOT_MENTIONS = re.compile(
    r"《[^》]{0,40}》|<<[^>]{0,40}>>"
    # occupations and staff titles: a job is not a condition, a faith or a debt
    rf"|{_HAN}{{0,6}}(?:管理师|医师|药师|护师|技师|营养师|咨询师|治疗师|理疗师|规划师|分析师"
    r"|工程师|设计师|顾问|专员|讲师|教练|主任|科长|护士长|培训师|督导|经纪人|中介)"
    # products named after a condition or practice
    rf"|{_HAN}{{0,4}}(?:血压计|血糖仪|血糖试纸|体温计|体温枪|孕妇装|孕妇枕|防过敏|抗过敏|"
    r"过敏原检测|佛珠|念珠|手串|吊坠|香炉|护腰|护膝|书包|文具|字典|教辅|练习册|绘本|读物)"
    r"|(?:孕妇|孕期|哺乳期|产妇|产后|儿童|婴幼儿|宝宝|老人)(?:慎用|禁用|可用|适用|专用|必备|款|装|版)"
    # a short value naming a product by its form or pack: 宝宝湿疹膏, 感冒灵颗粒, 产后修复套餐
    r"|^[^，。,;；!！?？]{0,24}(?:膏|贴|霜|乳液|喷雾|颗粒|胶囊|口服液|冲剂|糖浆|片|丸|奶粉|套装|套餐"
    r"|礼盒|口罩|\d+(?:g|ml|kg|mg|l|片|粒|袋|盒|支|瓶|包|克|毫升|升|只|枚|条|双|罐|桶|贴)装?(?:/[盒瓶袋])?)$",
    re.IGNORECASE,
)

RELIGION = _terms(
    "佛教", "基督教", "基督徒", "天主教", "伊斯兰(?!堡)", "穆斯林",
    "(?<![通短电来回书])信(?:佛(?!山)|基督|主(?![管板机页])|教(?![程材学]))", "受洗",
    "礼拜堂", "做礼拜", "去礼拜", "主日(?:学|崇拜)", "团契", "弥撒", "祷告",
    "(?:去|在|参加)教会", "教会(?:活动|聚会|的)", "教堂(?:聚会|做|礼拜)", "吃斋", "念佛",
    "念经", "诵经", "烧香", "上香", "拜佛", "礼佛", "供佛", "皈依", "居士", "受戒", "斋戒",
    "斋月", "封斋", "开斋", "清真(?!寺?[路街巷])", "不吃猪肉", "禁食猪", "古兰经", "圣经", "真主", "阿訇",
    "清真寺", "道观", "道教(?![育学练师材室])", "犹太教", "印度教", "东正教", "藏传佛教",
    "宗教信仰", "无神论",
    r"(?<![a-z0-9])(?:buddhis[mt]|christianity|catholic|muslim|islam(?:ic)?|taoism|hindu(?:ism)?"
    r"|judaism|jewish|atheist|halal|kosher|mosque)(?![a-z0-9])",
)  # fmt: skip

HEALTH = _terms(
    # conditions
    "糖尿病", "高血压", "低血压", "心脏病", "冠心病", "癌症", "肿瘤",
    "(?:肺|胃|肝|肠|乳腺|宫颈|鼻咽|食管|胰腺|甲状腺|皮肤|直肠|结肠|淋巴)癌", "白血病", "化疗", "放疗",
    "哮喘", "抑郁", "焦虑症", "失眠(?!枕)", "精神分裂", "癫痫", "慢性病", "高血脂", "痛风", "甲亢",
    "甲减", "甲状腺", "乙肝", "肝炎", "艾滋", "心血管", "中风", "脑梗", "结节", "囊肿",
    "息肉", "贫血", "湿疹", "黄疸", "早产", "发烧(?![友级])", "发热(?![器丝])", "(?<!不)感冒",
    "咳嗽", "腹泻", "便秘",
    "(?:鼻|皮|胃|肠|肺|咽|喉|肾|阑尾|关节|中耳|结膜|乳腺|宫颈|盆腔|支气管|扁桃体|鼻窦|胆囊"
    "|前列腺|腱鞘|肩周|牙周|牙龈)炎",
    "(?:自闭|孤独|多动|抽动|后遗|并发|强迫|恐惧|厌食)症", "发育迟缓", "感统失调", "近视\\d",
    "腰椎间盘", "颈椎病", "脂肪肝", "骨折", "扭伤", "拉伤", "旧伤", "韧带", "半月板", "术后",
    "康复期",
    # pregnancy and birth: 生育信息 is health information
    "怀孕", "孕期(?!营养|护肤|护理|用品)", f"孕妇(?!{_HAN})", "孕早期", "孕中期", "孕晚期", "孕\\d{1,2}周", "孕周", "预产期",
    "备孕", "产检", "待产", "分娩", "剖腹产", "剖宫产", "顺产", "已生产", "产后(?!收腹|修复|护理|塑身|瑜伽)", "坐月子",
    "哺乳期", "流产", "不孕", "试管婴儿", "胎心", "宫缩", "怀(?:二胎|三胎|了)", "要二胎", "妇幼",
    "建档(?!立卡)", "宝宝出生",
    # care: visits, records, medication, allergies, vital signs
    "病史", "病历", "病情", "确诊", "(?<!故障)诊断", "处方(?![粮])", "医嘱", "服药", "吃药", "用药", "药物",
    "手术(?![级刀])", "住院", "出院", "入院", "就诊", "就医", "复诊", "复查", "门诊", "急诊",
    "挂号(?!信)",
    "体检报告", "检查报告", "化验", "胰岛素", "二甲双胍", "降压药", "降糖药", "抗生素",
    "阿莫西林", "头孢", "布洛芬", "过敏", "接种", "疫苗", "输液", "打针", "吊水", "血氧",
    "正畸", "种植牙", "拔牙", "补牙", "根管", "医美", "整形",
    f"{_HAN}{{1,8}}(?:医院|卫生院|诊所|保健院|卫生服务中心)(?![对旁附门宿路街站小店药])",
    "(?:妇产|儿|内|外|皮肤|眼|耳鼻喉|骨|神经|心内|消化|呼吸|肿瘤|精神|心理)科",
    "体温\\s*[:：]?\\s*3[5-9](?:\\.\\d)?", "3[5-9]\\.\\d\\s*(?:℃|度)", "血压\\s*[:：]?\\s*\\d{2,3}/\\d{2,3}",
    "心率\\s*[:：]?\\s*\\d{2,3}", "血糖\\s*[:：]?\\s*\\d", "血糖(?![仪试])", "血压(?![计仪])",
    "胆固醇", "体重\\s*[:：]?\\s*\\d+(?!\\d|\\s*(?:斤|kg|公斤)?\\s*(?:以上|以下|以内|之间))",
    "体脂率?\\s*[:：]?\\s*\\d", "BMI\\s*[:：]?\\s*\\d",
    # a measure, not a requirement (择偶: 身高175以上)
    "身高\\s*[:：]?\\s*1\\d\\d(?!\\s*(?:cm|厘米)?\\s*(?:以上|以下|以内|之间|[+-]))",
    r"(?<![a-z0-9])(?:diabet(?:es|ic)|hypertension|pregnan(?:t|cy)|cancer|asthma|allerg(?:y|ic|ies)"
    r"|depression|hiv|hepatitis|surgery|hospitali[sz]ed|diagnos(?:is|ed)|chronic|medication"
    r"|prescription|due date|injury|injured)(?![a-z0-9])",
)  # fmt: skip

FINANCIAL = _terms(
    "征信", "信用记录", "信用报告", "逾期", "欠款", "负债", "贷款", "房贷", "车贷", "网贷",
    "(?:借呗|花呗|白条|微粒贷)(?:额度|逾期|欠|还款|还不上|套现)", "芝麻信用", "芝麻分", "信用分", "(?:信用|授信)额度",
    "信用卡(?:逾期|欠|还|额度|账单)", "还款", "催收", "黑户", "存款(?!利率)", "理财(?![产课师])", "余额\\s*[:：]?\\s*\\d", "年收入", "月收入",
    "年薪", "月薪", "工资卡", "资产证明", "银行流水", "还不上", "套现", "白户",
    "工资\\s*\\d", "月入\\s*\\d", "房产", "名下有", "放款", "拒贷", "额度\\s*[:：]?\\s*\\d",
    r"(?<![a-z0-9])(?:credit (?:score|report|record|limit)|overdue|loan|debt|mortgage|bank account"
    r"|salary)(?![a-z0-9])",
)  # fmt: skip

IDENTITY = _terms(
    "党员", "共青团员", "民主党派", "军人", "现役", "退伍", "复员", "军属", "烈属", "残疾",
    "残障", "残联", "低保", "特困", "五保户", "贫困户", "建档立卡", "优抚对象", "刑满释放",
    "服刑", "失信被执行人", "军官证", "残疾证", "上访", "退役", "烈士", "孤儿", "失独",
    r"(?<![a-z0-9])(?:veteran|disabled|disability|party member)(?![a-z0-9])",
)  # fmt: skip

MINOR = _terms(
    "(?:幼儿园|托)(?:小班|中班|大班|班)", "幼儿园", "上早教", "早教课",
    "小学(?!数学|语文|英语|奥数|科学|课程|教材|同步|全科|阶段|学段)", "附小",
    "(?:小学)?[一二三四五六1-6]年级", "小升初", "幼升小", "(?<![月正腊农初年])初[一二](?![十五日号])",
    "(?:孩子|宝宝|儿子|女儿|小孩|闺女|娃)(?:的)?(?:姓名|名字|学校|班级|生日)",
    r"(?<![a-z0-9])(?:kindergarten|preschool|primary school|grade [1-6]|toddler)(?![a-z0-9])",
)  # fmt: skip

#: A child's age said in prose: 孩子5岁, 宝宝8个月, 女儿十岁.
CHILD_AGE = re.compile(
    "(?:孩子|宝宝|宝贝|儿子|女儿|小孩|闺女|娃|孙子|孙女|外孙|大宝|二宝|小宝)[^，。,;；\\d]{0,4}"
    "(?:(?:[0-9]|1[0-3]|[一二两三四五六七八九十]|十[一二三])(?:周岁|岁)|\\d{1,2}个半?月)"
)

WHEREABOUTS = _terms(
    "(?:在|到了|到达|抵达|落地|入住|住在|住进|住(?![址宅房院])|出发去|飞往|前往|去了|回到|离开|途经)"
    f"{_HAN}{{0,10}}(?:机场|航站楼|火车站|高铁站|汽车站|车站|码头|酒店|宾馆|民宿|客栈|旅馆"
    "|景区|服务区)",
    "(?:已|刚|今天|明天|昨天|今晚|下周|周[一二三四五六日末])入住", "退房", "开房", "住宿(?:在|于)",
    "出差(?:去|到|在|回)", f"[在去到]{_HAN}{{1,6}}出差", "行程[是为:：]", "航班(?:号|延误|取消|落地|起飞)",
    "(?:坐|乘|搭)(?:高铁|动车|飞机|火车)", "(?:订|买|退|改签?)了?(?:机票|火车票|高铁票)",
    r"(?<![A-Za-z0-9])[GDCZTK]\d{1,4}次",
    # a flight or train with its date: a trip, where a bare code may be a SKU
    r"(?<![A-Za-z0-9])(?:[A-Z]{2}|[A-Z]\d|\d[A-Z]|[GDCZTK])\d{1,4}\s*[,，/ ]\s*"
    r"(?:(?:19|20)\d{2}[-/.年])?\d{1,2}[-/.月]\d{1,2}日?",
    r"(?<![a-z0-9])(?:check(?:ed)? in at|staying at|landed at|flight)(?![a-z0-9])",
)  # fmt: skip

OTHER = _terms(
    "性取向", "同性恋", "双性恋", "跨性别", "变性", "出柜", "婚史", "离异", "离婚", "再婚",
    "丧偶", "二婚", "婚外情", "出轨", "犯罪记录", "前科", "案底", "坐过牢", "判刑", "拘留",
    "吸毒", "违法记录", "单亲", "取保候审", "[判服]过刑",
    r"(?<![a-z0-9])(?:lgbt\w*|gay|lesbian|bisexual|transgender|divorced|criminal record)(?![a-z0-9])",
)  # fmt: skip

#: The vocabulary of each sensitive category, in taxonomy order.
TERMS: dict[Category, re.Pattern[str]] = {
    Category.RELIGIOUS_BELIEF: RELIGION,
    Category.SPECIFIC_IDENTITY: IDENTITY,
    Category.MEDICAL_HEALTH: HEALTH,
    Category.FINANCIAL_ACCOUNT: FINANCIAL,
    Category.WHEREABOUTS: WHEREABOUTS,
    Category.MINOR: MINOR,
    Category.OTHER_SENSITIVE: OTHER,
}
