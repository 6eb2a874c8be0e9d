"""The demo district's data: its places, logins, policy, holidays and menus. Made-up
people and places after real ones (杭州市西湖区); the seeding lives in seeding.py."""

from datetime import date
from zoneinfo import ZoneInfo

# Hangzhou's 15-minute meal circle (15分钟助餐服务圈) is drawn at 1 km, an elder's quarter
# hour on foot; Luoyang's plan would set 500 here (10 minutes).
DISTRICT = {
    "code": "330106",
    "name": "杭州市西湖区",
    "timezone": "Asia/Shanghai",
    "walking_radius_m": 1000,
}

# street → communities (code, name, lat, lng)
COMMUNITIES = {
    "北山街道": [
        ("330106001001", "保俶塔社区", 30.2665, 120.1482),
        ("330106001002", "北山路社区", 30.2609, 120.1436),
        ("330106001003", "曙光社区", 30.2737, 120.1403),
        ("330106001004", "宝石社区", 30.2701, 120.1468),
    ],
    "西溪街道": [
        ("330106002001", "文三社区", 30.2791, 120.1382),
        ("330106002002", "学院路社区", 30.2823, 120.1322),
        ("330106002003", "古荡湾社区", 30.2808, 120.1268),
        ("330106002004", "嘉绿苑社区", 30.2889, 120.1291),
    ],
    "翠苑街道": [
        ("330106003001", "翠苑一区社区", 30.2912, 120.1205),
        ("330106003002", "翠苑三区社区", 30.2945, 120.1178),
        ("330106003003", "文华社区", 30.2881, 120.1149),
        ("330106003004", "益乐社区", 30.2851, 120.1220),
    ],
}

PLACES = [
    {
        "name": "北山街道老年食堂",
        "kind": "canteen",
        "community": "330106001003",
        "seats_per_meal": 120,
        "dining_area_m2": 180,
        "functions": ["cooking", "dine_in", "delivery"],
        "operator_type": "public_private",
        "address": "杭州市西湖区曙光路65号",
        "location": {"lat": 30.2729, "lng": 120.1411},
        "monthly_operating_subsidy_fen": 1_500_000,
        "phone": "0571-87981234",
        "opening_hours": "06:30–19:00",
    },
    {
        "name": "西溪街道颐乐老年食堂",
        "kind": "canteen",
        "community": "330106002002",
        "seats_per_meal": 90,
        "dining_area_m2": 130,
        "functions": ["cooking", "dine_in", "delivery"],
        "operator_type": "commissioned",
        "address": "杭州市西湖区学院路77号",
        "location": {"lat": 30.2818, "lng": 120.1331},
        "monthly_operating_subsidy_fen": 1_200_000,
        "phone": "0571-88851122",
        "opening_hours": "10:30–13:30, 16:30–18:30",
    },
    {
        "name": "翠苑街道中心老年食堂",
        "kind": "canteen",
        "community": "330106003002",
        "seats_per_meal": 80,
        "dining_area_m2": 110,
        "functions": ["cooking", "dine_in", "delivery"],
        "operator_type": "public_run",
        "address": "杭州市西湖区翠苑三区28幢底商",
        "location": {"lat": 30.2939, "lng": 120.1186},
        "monthly_operating_subsidy_fen": 1_000_000,
        "phone": "0571-88216677",
        "opening_hours": "06:30–18:30",
    },
    {
        "name": "保俶塔社区助餐点",
        "kind": "meal_point",
        "community": "330106001001",
        "seats_per_meal": 24,
        "dining_area_m2": 40,
        "functions": ["dine_in"],
        "operator_type": "charity",
        "address": "杭州市西湖区保俶路50号社区服务中心一楼",
        "location": {"lat": 30.2671, "lng": 120.1476},
        "monthly_operating_subsidy_fen": 300_000,
    },
    {
        "name": "北山路社区助餐点",
        "kind": "meal_point",
        "community": "330106001002",
        "seats_per_meal": 16,
        "dining_area_m2": 28,
        "functions": ["dine_in"],
        "operator_type": "public_private",
        "address": "杭州市西湖区北山路84号",
        "location": {"lat": 30.2603, "lng": 120.1441},
        "monthly_operating_subsidy_fen": 200_000,
    },
    {
        "name": "文三社区助餐点",
        "kind": "meal_point",
        "community": "330106002001",
        "seats_per_meal": 30,
        "dining_area_m2": 45,
        "functions": ["dine_in", "delivery"],
        "operator_type": "private",
        "address": "杭州市西湖区文三路259号",
        "location": {"lat": 30.2785, "lng": 120.1390},
        "monthly_operating_subsidy_fen": 300_000,
    },
    {
        "name": "古荡湾社区助餐点",
        "kind": "meal_point",
        "community": "330106002003",
        "seats_per_meal": 20,
        "dining_area_m2": 32,
        "functions": ["dine_in"],
        "operator_type": "charity",
        "address": "杭州市西湖区古荡湾新村12幢",
        "location": {"lat": 30.2803, "lng": 120.1275},
        "monthly_operating_subsidy_fen": 200_000,
    },
    {
        "name": "文华社区助餐点",
        "kind": "meal_point",
        "community": "330106003003",
        "seats_per_meal": 18,
        "dining_area_m2": 30,
        "functions": ["dine_in"],
        "operator_type": "public_private",
        "address": "杭州市西湖区文华路9号",
        "location": {"lat": 30.2876, "lng": 120.1153},
        "monthly_operating_subsidy_fen": 200_000,
    },
    {
        "name": "益乐社区助餐点",
        "kind": "meal_point",
        "community": "330106003004",
        "seats_per_meal": 20,
        "dining_area_m2": 35,
        "functions": ["dine_in", "delivery"],
        "operator_type": "commissioned",
        "address": "杭州市西湖区益乐路39号",
        "location": {"lat": 30.2846, "lng": 120.1226},
        "monthly_operating_subsidy_fen": 200_000,
    },
]

# Demo logins; seed-demo refuses to run in production, so these never guard real data.
LOGINS = [
    {"username": "admin", "password": "demo-admin-2026", "role": "admin"},
    {
        "username": "official",
        "password": "demo-official-2026",
        "role": "official",
        "district": "330106",
    },
    {
        "username": "manager",
        "password": "demo-manager-2026",
        "role": "manager",
        "canteen": "北山街道老年食堂",
    },
    {
        "username": "cashier",
        "password": "demo-cashier-2026",
        "role": "cashier",
        "canteen": "北山街道老年食堂",
    },
    # `elders` are indexes into demo_elders(): the couple of 保俶塔社区 that comes first.
    {
        "username": "inspector",
        "password": "demo-inspector-2026",
        "role": "inspector",
        "district": "330106",
    },
    {"username": "family", "password": "demo-family-2026", "role": "family", "elders": (0, 1)},
    {"username": "elder", "password": "demo-elder-2026", "role": "elder", "elders": (0,)},
    {
        "username": "volunteer",
        "password": "demo-volunteer-2026",
        "role": "volunteer",
        "canteen": "北山街道老年食堂",
    },
    # A daughter ordering for her mother, who lives alone a few streets away.
    {"username": "daughter", "password": "demo-daughter-2026", "role": "family", "elders": (2,)},
]

# Staff who left: their accounts kept for the record but deactivated, so the users page
# shows one, and its login (with this password) says it is deactivated. Not printed.
FORMER_STAFF = [
    {
        "username": "former.cashier",
        "password": "demo-former-2026",
        "role": "cashier",
        "canteen": "北山街道老年食堂",
    },
]

# The demo elders: made-up people, the same on every run. Ages are counted on a fixed
# date, not today, so the data (and what the tests check of it) never drifts.
ELDER_SEED = 330106
ELDER_COUNT = 300
REFERENCE_DATE = date(2026, 11, 24)
ZONE = ZoneInfo(DISTRICT["timezone"])


# The district's policy, after Shenzhen Futian's tiers and Jinan's flat 60+ discount
# (DOMAIN.md): a hardship tier, a 70+ tier and a small one for everyone 60+.
POLICY = {
    "effective_from": date(2026, 1, 1),
    "no_subsidy_on_holidays": True,
    "max_meals_per_slot": 1,
    "max_subsidized_per_day": 2,
    "refuse_beyond_limit": True,
    "delivery_subsidy_fen": 300,
    "tiers": [
        {
            "name": "困难老人",
            "categories": ["extreme_poverty", "minimum_allowance", "low_income", "living_alone"],
            "channel": "any",
            "amount_fen": 1500,
        },
        {"name": "80岁以上", "min_age": 80, "channel": "any", "amount_fen": 800},
        {"name": "70岁以上", "min_age": 70, "channel": "any", "amount_fen": 500},
        {"name": "60岁以上", "min_age": 60, "channel": "dine_in", "amount_fen": 200},
    ],
}

# The next year's budget raises two tiers from 1 January: a version added ahead of its day,
# so the policies page shows it upcoming beside the one in force. It starts after every
# menu the demo publishes, so it prices nothing the demo seeds.
RAISED_TIERS_FEN = {"80岁以上": 1000, "60岁以上": 300}


# The statutory holidays (全国年节及纪念日放假办法 as revised for 2025: 13 days a year) of the
# years the demo can land in, by the State Council's calendars and the lunar dates; a date
# outside them is a working day. 2028's Mid-Autumn Festival falls on National Day.
HOLIDAYS = {
    date(2025, 1, 1): "元旦",
    date(2025, 1, 28): "春节（除夕）",
    date(2025, 1, 29): "春节",
    date(2025, 1, 30): "春节",
    date(2025, 1, 31): "春节",
    date(2025, 4, 4): "清明节",
    date(2025, 5, 1): "劳动节",
    date(2025, 5, 2): "劳动节",
    date(2025, 5, 31): "端午节",
    date(2025, 10, 1): "国庆节",
    date(2025, 10, 2): "国庆节",
    date(2025, 10, 3): "国庆节",
    date(2025, 10, 6): "中秋节",
    date(2026, 1, 1): "元旦",
    date(2026, 2, 16): "春节（除夕）",
    date(2026, 2, 17): "春节",
    date(2026, 2, 18): "春节",
    date(2026, 2, 19): "春节",
    date(2026, 4, 5): "清明节",
    date(2026, 5, 1): "劳动节",
    date(2026, 5, 2): "劳动节",
    date(2026, 6, 19): "端午节",
    date(2026, 9, 25): "中秋节",
    date(2026, 10, 1): "国庆节",
    date(2026, 10, 2): "国庆节",
    date(2026, 10, 3): "国庆节",
    date(2027, 1, 1): "元旦",
    date(2027, 2, 5): "春节（除夕）",
    date(2027, 2, 6): "春节",
    date(2027, 2, 7): "春节",
    date(2027, 2, 8): "春节",
    date(2027, 4, 5): "清明节",
    date(2027, 5, 1): "劳动节",
    date(2027, 5, 2): "劳动节",
    date(2027, 6, 9): "端午节",
    date(2027, 9, 15): "中秋节",
    date(2027, 10, 1): "国庆节",
    date(2027, 10, 2): "国庆节",
    date(2027, 10, 3): "国庆节",
    date(2028, 1, 1): "元旦",
    date(2028, 1, 25): "春节（除夕）",
    date(2028, 1, 26): "春节",
    date(2028, 1, 27): "春节",
    date(2028, 1, 28): "春节",
    date(2028, 4, 4): "清明节",
    date(2028, 5, 1): "劳动节",
    date(2028, 5, 2): "劳动节",
    date(2028, 5, 28): "端午节",
    date(2028, 10, 1): "国庆节",
    date(2028, 10, 2): "国庆节",
    date(2028, 10, 3): "中秋节、国庆节",
}

# A fortnight of set meals a Hangzhou elder canteen might cook, rotated over the week.
LUNCHES = [
    ("红烧鱼块", "清炒菠菜", "番茄蛋汤"),
    ("梅干菜烧肉", "蒜蓉西兰花", "紫菜汤"),
    ("宫保鸡丁", "香菇青菜", "冬瓜排骨汤"),
    ("清蒸鲈鱼", "油焖茄子", "丝瓜蛋汤"),
    ("土豆烧牛肉", "手撕包菜", "萝卜汤"),
    ("糖醋里脊", "炒三丝", "豆腐汤"),
    ("东坡肉", "清炒西葫芦", "榨菜肉丝汤"),
]
SOFT_LUNCHES = [
    ("肉末蒸蛋", "南瓜粥"),
    ("鱼片豆腐羹", "软米饭"),
    ("冬瓜肉丸", "小米粥"),
    ("番茄鸡蛋面", "蒸南瓜"),
    ("虾仁蒸蛋", "山药粥"),
    ("清炖狮子头", "软米饭"),
    ("鸡茸玉米羹", "红薯粥"),
]


# When the demo's elders come to eat, local time: most at the start of the window.
MEAL_TIMES = {"lunch": (11, 0, 90), "dinner": (17, 0, 60)}  # hour, minute, spread in minutes

# Every fourth elder keeps a meal balance, topped up on Monday morning; the family
# login's elders among them, so their relatives' page has a history to show.
TOP_UPS_FEN = (5000, 10000, 20000)


RATING_COMMENTS = {
    5: ("菜很软，好嚼", "阿姨很热情", None),
    4: ("味道不错", None, "分量够"),
    3: ("一般", "米饭有点硬", None),
    2: ("太咸了", "送来时有点凉"),
    1: ("菜太硬，咬不动",),
}
