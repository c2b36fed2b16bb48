"""Phrase banks for review text in English and Chinese, per aspect and sentiment.

A clause expressing (aspect, sentiment) is composed from a subject, a verb, an intensifier and an
adjective of the right polarity, or says the opposite adjective negated ("not flimsy at all" is
positive, "不怎么好" negative), or is an idiom ("fell apart after two washes"). With the subjects,
adjectives, intensifiers, frames and idioms below, each (aspect, sentiment, language) has thousands of
distinct clauses before noise (typos, case, punctuation, emoji) is added. Sentiments are -1, 0 and +1.
"""

from __future__ import annotations

from dataclasses import dataclass

ASPECTS = ("quality", "size_fit", "value", "delivery", "service", "packaging", "appearance")


@dataclass(frozen=True)
class Group:
    """Subjects that take the same adjectives (so that "the price is steep" and "the value is poor")."""

    subjects: tuple[str, ...]
    pos: tuple[str, ...]
    neg: tuple[str, ...]
    neu: tuple[str, ...]


@dataclass(frozen=True)
class Bank:
    groups: tuple[Group, ...]
    idioms: dict[int, tuple[str, ...]]
    small: tuple[str, ...] = ()  # size_fit, negative, runs small
    large: tuple[str, ...] = ()  # size_fit, negative, runs large


EN: dict[str, Bank] = {
    "quality": Bank(
        (Group(("quality", "build quality", "material", "craftsmanship", "finish", "workmanship"),
               ("excellent", "great", "solid", "superb", "top-notch", "impressive", "sturdy", "outstanding",
                "fantastic", "premium"),
               ("poor", "cheap", "flimsy", "terrible", "disappointing", "shoddy", "awful", "subpar", "bad"),
               ("okay", "average", "acceptable", "fine", "decent", "so-so", "nothing special")),),
        {1: ("it feels built to last", "still going strong after a month of daily use", "you can tell it is well made",
             "no loose threads or rough edges anywhere", "way better made than I expected",
             "the {noun} is really well put together"),
         -1: ("it fell apart within a week", "broke the second time I used it", "the {noun} started falling apart",
              "it feels like it will not survive a month", "came with a defect right out of the box",
              "the seams came undone after one wash"),
         0: ("it's what you would expect, nothing more", "the {noun} does the job, no more, no less",
             "the quality is about what I expected")}),
    "size_fit": Bank(
        (Group(("fit", "sizing", "size", "cut"),
               ("perfect", "spot on", "true to size", "just right", "great", "comfortable", "flattering"),
               ("off", "all wrong", "inconsistent", "way off", "strange", "uncomfortable"),
               ("okay", "a little snug but fine", "slightly loose but wearable", "acceptable")),),
        {1: ("fits like a glove", "ordered my usual size and it fits perfectly", "the size chart is accurate",
             "true to size for me"),
         -1: ("the size chart is useless", "the sizing is nowhere near the chart"),
         0: ("fits okay, maybe half a size off", "the fit is fine once you get used to it")},
        small=("it runs small, so size up", "way too tight for my usual size", "had to send it back for a bigger size",
               "order one size up, trust me", "it runs at least a size small"),
        large=("it runs large, so size down", "much bigger than expected", "I am swimming in my usual size",
               "had to exchange it for a smaller size", "it runs at least a size big")),
    "value": Bank(
        (Group(("price",), ("fair", "reasonable", "great", "unbeatable", "very good"),
               ("steep", "too high", "ridiculous", "way too much", "hard to justify"),
               ("okay", "about right", "average for this kind of thing")),
         Group(("value", "value for money"), ("excellent", "great", "unbeatable", "outstanding", "very good"),
               ("poor", "terrible", "awful", "bad", "disappointing"), ("okay", "average", "fair enough"))),
        {1: ("worth every penny", "a bargain at this price", "got it on sale and it was a steal",
             "you get a lot for your money", "cheaper than the big brands and just as good"),
         -1: ("not worth the money", "overpriced for what you get", "I paid full price and regret it",
              "you can find better for half the price", "a rip-off, honestly"),
         0: ("you get what you pay for", "fairly priced, nothing more", "not cheap, not expensive")}),
    "delivery": Bank(
        (Group(("delivery", "shipping", "courier", "delivery time"),
               ("fast", "quick", "speedy", "super quick", "on time", "lightning fast", "efficient"),
               ("slow", "late", "painfully slow", "a nightmare", "terrible", "very late", "a mess"),
               ("okay", "average", "a bit slow but fine", "as expected")),),
        {1: ("arrived the next day", "arrived earlier than promised", "it was at my door in two days",
             "tracking was accurate and it came early"),
         -1: ("took almost three weeks to arrive", "the parcel got lost for a week",
              "arrived way after the promised date",
              "tracking said delivered but it came days later"),
         0: ("arrived within the stated time", "took about a week, as they said")}),
    "service": Bank(
        (Group(("customer service", "support team", "seller", "service", "after-sales service"),
               ("helpful", "friendly", "responsive", "excellent", "amazing", "quick to help", "professional"),
               ("unhelpful", "rude", "useless", "slow to reply", "terrible", "dismissive", "unprofessional"),
               ("okay", "average", "polite but slow", "fine")),),
        {1: ("they sorted out my problem in one email", "the return was processed the same day",
             "support replied within an hour and fixed everything"),
         -1: ("nobody answered my emails for a week", "they refused to help with the return",
              "I had to chase them three times for a refund"),
         0: ("support answered eventually", "the return took a while but was sorted")}),
    "packaging": Bank(
        (Group(("packaging", "box", "wrapping", "parcel"),
               ("neat", "secure", "lovely", "eco-friendly", "well padded", "beautiful", "sturdy"),
               ("damaged", "flimsy", "crushed", "excessive", "torn", "wasteful"),
               ("fine", "basic", "okay", "plain")),),
        {1: ("came nicely wrapped, great for a gift", "no plastic in the box, love that",
             "packed so well nothing could break"),
         -1: ("the box arrived crushed", "way too much plastic for such a small item",
              "the packaging was ripped open on arrival"),
         0: ("plain packaging, nothing special", "standard box, did the job")}),
    "appearance": Bank(
        (Group(("colour", "design", "look", "style", "colour and design"),
               ("gorgeous", "beautiful", "stylish", "lovely", "stunning", "elegant", "exactly as pictured"),
               ("dull", "ugly", "off", "cheap-looking", "nothing like the photos", "disappointing"),
               ("okay", "fine", "a bit plain", "slightly different from the photos")),),
        {1: ("looks even better than in the pictures", "I get compliments every time",
             "the colour is exactly as shown online"),
         -1: ("looks nothing like the pictures", "the colour is completely different from the website",
              "looks cheap in person"),
         0: ("looks like the photos, more or less", "the colour is a shade darker than shown")}),
}

ZH: dict[str, Bank] = {
    "quality": Bank(
        (Group(("质量", "做工", "材质", "用料", "品质"), ("好", "不错", "棒", "扎实", "精致", "结实", "过硬"),
               ("差", "粗糙", "糟糕", "廉价", "劣质"), ("一般", "还行", "凑合", "中规中矩", "马马虎虎")),),
        {1: ("做工精细，没有线头", "用了一个月还跟新的一样", "一看就是好东西", "比想象中的还要好",
             "手感很好，很有分量"),
         -1: ("用了两天就坏了", "一洗就开线了", "到手就有瑕疵", "感觉用不了多久", "和描述的完全不一样，质量堪忧"),
         0: ("一分钱一分货吧", "质量对得起这个价", "没有什么惊喜，也没有什么问题")}),
    "size_fit": Bank(
        (Group(("尺码", "大小", "码数", "版型"), ("标准", "合适", "合身", "正好", "准"), ("不准", "离谱", "奇怪"),
               ("还行", "一般", "稍微有点紧，还能接受", "略微偏松，能穿")),),
        {1: ("按平时的码数买的，刚刚好", "穿着很合身", "尺码表很准"),
         -1: ("尺码表完全不准", "码数和尺码表对不上"),
         0: ("尺码差不多，稍微有点出入", "穿着还可以，不算特别合身")},
        small=("尺码偏小，建议拍大一码", "穿着太紧了", "小了一号，只能退了", "平时穿M，这个要买L"),
        large=("尺码偏大，建议拍小一码", "穿上太松垮了", "大了一号，换了小码", "码数偏大很多")),
    "value": Bank(
        (Group(("性价比",), ("高", "不错"), ("低", "偏低"), ("一般", "还行", "中等")),
         Group(("价格", "价位"), ("实惠", "便宜", "划算", "合理", "公道"), ("贵", "偏高", "离谱", "虚高"),
               ("一般", "还行", "中规中矩"))),
        {1: ("物超所值", "这个价格买到很值", "活动价入手，太划算了", "比实体店便宜多了"),
         -1: ("完全不值这个价", "性价比太低了，不推荐", "原价买的，有点后悔", "同样的钱可以买更好的"),
         0: ("一分价钱一分货", "价格不算便宜也不算贵")}),
    "delivery": Bank(
        (Group(("物流", "快递", "发货", "配送", "送货速度"), ("快", "迅速", "给力", "及时", "神速"),
               ("慢", "拖沓", "糟糕", "离谱"), ("一般", "还行", "正常", "中规中矩")),),
        {1: ("第二天就到了", "比预计的时间早到了", "下单后隔天就收到了", "物流信息更新很及时"),
         -1: ("等了快三个星期才到", "快递丢件了一个星期", "比承诺的时间晚了好多天", "物流一直不更新"),
         0: ("按说的时间送到了", "大概一个星期到货")}),
    "service": Bank(
        (Group(("客服", "售后", "服务态度", "卖家服务", "客服态度"), ("好", "热情", "耐心", "专业", "周到"),
               ("差", "恶劣", "冷淡", "敷衍", "糟糕"), ("一般", "还行", "凑合")),),
        {1: ("有问题一下就解决了", "退货当天就处理了", "客服回复很快，耐心解答"),
         -1: ("客服爱答不理", "售后一直推脱", "联系了三次才给退款"),
         0: ("客服回复有点慢，但最后解决了", "退货流程有点长")}),
    "packaging": Bank(
        (Group(("包装", "外包装", "包装盒"), ("严实", "精美", "用心", "环保", "结实", "好"),
               ("破损", "简陋", "太差", "过度", "烂"), ("一般", "普通", "简单")),),
        {1: ("包装得很严实，一点没压坏", "包装很精美，适合送人", "没有多余的塑料，很环保"),
         -1: ("箱子都压扁了", "包装破了一个大洞", "小东西用了一大堆塑料"),
         0: ("包装很普通", "就是一个普通的纸盒")}),
    "appearance": Bank(
        (Group(("颜色", "外观", "样子", "款式", "颜值"), ("好看", "漂亮", "高级", "时尚", "大气", "正"),
               ("难看", "土", "廉价", "暗淡", "奇怪"), ("一般", "还行", "普通")),),
        {1: ("和图片一模一样", "实物比图片还好看", "颜值很高，朋友都问链接"),
         -1: ("色差严重", "和图片完全不一样", "实物看起来很廉价"),
         0: ("和图片差不多，略有色差", "颜色比图片深一点")}),
}

EN_INTENSIFIERS = ("", "", "", "very ", "really ", "super ", "extremely ", "incredibly ", "absolutely ", "pretty ",
                   "quite ", "so ", "genuinely ")
EN_SOFTENERS = ("", "really ", "that ", "very ", "particularly ", "exactly ")
EN_VERBS = ("is", "was", "feels", "seems", "is honestly", "turned out to be")
ZH_ADVERBS = ("非常", "很", "特别", "超级", "挺", "相当", "真的很", "蛮", "十分", "比较")

EN_OPENERS: dict[int, tuple[str, ...]] = {
    5: ("Absolutely love it.", "Second time buying this.", "Bought this as a gift and they loved it.",
        "Exceeded my expectations.", "So happy with this purchase!", "Can't fault it."),
    4: ("Pretty happy overall.", "Good purchase.", "Bought this a month ago.", "Does what it says.",
        "Mostly happy with it."),
    3: ("Mixed feelings about this one.", "It's alright.", "Not bad, not great.", "Bought this last week."),
    2: ("A bit disappointed.", "Expected more.", "Not what I hoped for.", "Wanted to like this."),
    1: ("Very disappointed.", "Don't waste your money.", "Worst purchase this year.", "Avoid.",
        "Really regret buying this."),
}
EN_CLOSERS: dict[int, tuple[str, ...]] = {
    5: ("Would buy again.", "Highly recommend!", "Five stars from me.", "Already ordered another one."),
    4: ("Would recommend.", "Four stars.", "Happy overall.", "Worth it."),
    3: ("It's okay for now.", "Three stars.", "Might look elsewhere next time.", "It does the job."),
    2: ("Probably won't buy again.", "Two stars.", "Can't really recommend it."),
    1: ("Returning it.", "One star is generous.", "Never again.", "Stay away."),
}
EN_TITLES: dict[int, tuple[str, ...]] = {
    5: ("Love it", "Excellent", "Highly recommend", "Five stars", "Great buy", "Exactly what I wanted", "Perfect"),
    4: ("Very good", "Happy with it", "Nice, minor gripes", "Solid choice", "Good buy"),
    3: ("It's okay", "Mixed feelings", "Average", "Does the job", "Meh"),
    2: ("Disappointed", "Not great", "Could be better", "Expected more"),
    1: ("Terrible", "Waste of money", "Avoid", "Returned it", "Very disappointed"),
}
ZH_OPENERS: dict[int, tuple[str, ...]] = {
    5: ("非常满意！", "好评！", "第二次回购了。", "买给家人的，很喜欢。", "超出预期。"),
    4: ("总体满意。", "还不错。", "用了一段时间了。", "挺好的。"),
    3: ("一般般吧。", "中规中矩。", "说不上好也说不上坏。"),
    2: ("有点失望。", "不太满意。", "和预期有差距。"),
    1: ("非常失望！", "差评！", "后悔买了。", "大家别买。"),
}
ZH_CLOSERS: dict[int, tuple[str, ...]] = {
    5: ("推荐购买！", "还会再来的。", "五星好评。", "值得入手。"),
    4: ("推荐。", "总体不错。", "可以入手。"),
    3: ("凑合用吧。", "就这样吧。", "三星。"),
    2: ("不会再买了。", "不太推荐。"),
    1: ("已退货。", "再也不买了。", "一星都不想给。"),
}
ZH_TITLES: dict[int, tuple[str, ...]] = {
    5: ("好评", "非常满意", "值得购买", "超赞"), 4: ("不错", "满意", "还可以"), 3: ("一般", "中评", "凑合"),
    2: ("失望", "不太满意"), 1: ("差评", "很失望", "别买"),
}
EN_MISSPELLINGS = {"definitely": "definately", "quality": "qualty", "received": "recieved", "recommend": "reccomend",
                   "really": "realy", "because": "becuase", "disappointed": "dissapointed", "expected": "expcted",
                   "perfect": "perfct", "delivery": "delivary"}
EN_EMOJI = ("👍", "😊", "❤️", "😡", "🙄", ":)", ":(", "😍")
ZH_EMOJI = ("👍", "😊", "😭", "😡", "[赞]", "[哭]", "~", "hhh")
